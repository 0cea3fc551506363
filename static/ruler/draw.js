// The ruler's drawing: the elements of the part of a track in view
// (segments, offsets, the bytes themselves, the bytes in flight), made
// again on every scroll, so that a track of a million bytes costs what
// its view shows.

import { appendEscaped, escapeText } from "../bytes.js";
import { el } from "../dom.js";
import { bytesText, datagramText, movedBytes } from "../event.js";
import { fmt, plural } from "../format.js";
import { pyAddr } from "../ops.js";
import { findEvent, firstIndex, upper } from "../sorted.js";
import { PAD_L } from "./layout.js";

const CHAR_W = 11; // px per byte from which the bytes themselves are drawn
const TEXT_MAX = 4096; // bytes of a track's text: its last ones
const MAX_PIECES = 400; // spans of a track's text
const LABEL_CH = 8.6; // px per character of a segment's label

// bytesOf is what an event moved, decoded on demand and kept, since only
// the bytes in view are ever drawn.
function bytesOf(st, seq) {
  let b = st.decoded.get(seq);
  if (b) return b;
  const ev = findEvent(st.events, seq);
  if (!ev) return new Uint8Array(0);
  b = movedBytes(ev);
  if (st.decoded.size > 500) st.decoded.clear();
  st.decoded.set(seq, b);
  return b;
}

// holding is the index of the first of a row's items (in offset order)
// that ends after byte a: the one holding it, if any does.
function holding(items, a) {
  return firstIndex(items.length, (i) => items[i].off + items[i].len > a);
}

// byteRun returns the bytes [a, b) of a stream track, or null where no
// event in the log says what they were.
function byteRun(st, track, a, b) {
  for (const row of track.rows) {
    const it = row.items[holding(row.items, a)];
    if (!it || it.off > a || it.off + it.len < b) continue;
    const data = bytesOf(st, it.seq);
    if (data.length >= b - it.off) return data.subarray(a - it.off, b - it.off);
  }
  return null;
}

function byteText(x) {
  if (x === 10) return ["\\n", "ctl"];
  if (x === 13) return ["\\r", "ctl"];
  if (x === 9) return ["\\t", "ctl"];
  if (x === 32) return ["·", "sp"];
  if (x > 32 && x < 127) return [String.fromCharCode(x), ""];
  return [x.toString(16).padStart(2, "0"), "ctl"];
}

function place(e, x, y, w, h) {
  e.style.cssText = `left:${x}px;top:${y}px;width:${w}px;height:${h}px`;
}

function segText(st, track, row, it) {
  if (track.kind === "dgram") return datagramText(row.role, row.sock, it);
  const ev = it.eof ? null : findEvent(st.events, it.seq);
  return bytesText(row.sock, ev ? ev.op : row.op, it);
}

function drawSegs(frag, st, track, line, lo, hi, view) {
  const row = line.row;
  const { xs, ends, items } = row;
  let i = upper(ends, lo);
  for (; i < items.length && xs[i] <= hi; i++) {
    const it = items[i];
    const x = xs[i];
    const w = ends[i] - x;
    const d = el("div", `spr-seg ${row.role}${i % 2 ? " alt" : ""}`);
    place(d, x, line.y, w, line.h);
    const text = segText(st, track, row, it);
    d.title = text;
    d.setAttribute("aria-label", text);
    d.tabIndex = 0;
    d.dataset.seq = it.seq;
    d.dataset.len = it.len;
    d.dataset.row = `${track.key}/${row.role}`;
    d.dataset.i = i;
    let label = "";
    if (track.kind === "dgram") {
      d.classList.add("dgram");
      d.dataset.off = row.offs[i];
      if (it.truncated) {
        d.classList.add("trunc");
        d.dataset.size = it.size;
        const lost = el("div", "spr-lost");
        lost.style.width = `${(100 * (it.size - it.len)) / it.size}%`;
        d.append(lost);
        label = w >= 110 ? `${fmt(it.len)} of ${fmt(it.size)} B` : `${fmt(it.len)}/${fmt(it.size)}`;
      } else {
        label = w >= 60 ? `${fmt(it.len)} B` : fmt(it.len);
      }
      // The payload is what a datagram is for: its text, as much as the
      // box holds (the text below the track has it whole).
      const text = flat(bytesOf(st, it.seq));
      const room = Math.floor((w - 10) / LABEL_CH);
      if (text && room >= 4) label = text.length + label.length + 3 <= room ? `${text} · ${label}` : text.length <= room ? text : text.slice(0, room - 1) + "…";
    } else {
      d.dataset.off = it.off;
      if (it.eof) {
        d.classList.add("eof");
        label = "EOF";
      } else {
        if (it.auto) d.classList.add("auto");
        if (it.err) d.classList.add("err");
        label = w >= 96 ? `#${it.seq} · ${fmt(it.len)}` : fmt(it.len);
      }
    }
    const tw = label.length * LABEL_CH + 8;
    if (w >= tw || it.eof) {
      const span = el("span", "spr-txt", label);
      // A segment wider than the view keeps its label in the part in view.
      if (!it.eof && (x < view[0] || x + w > view[1])) {
        const mid = (Math.max(x, view[0]) + Math.min(x + w, view[1])) / 2;
        d.style.justifyContent = "flex-start";
        span.style.marginLeft = `${Math.min(Math.max(0, mid - x - tw / 2), w - tw)}px`;
      }
      d.append(span);
    }
    frag.append(d);
  }
}

// drawOffs labels the byte offsets at a row's boundaries, skipping those
// that would overlap the previous label.
function drawOffs(frag, track, line, lo, hi) {
  const { xs, ends, items } = line.row;
  if (!items.length) return;
  let last = -Infinity;
  const put = (x, off, first) => {
    const text = fmt(off);
    const half = (text.length * 7.3) / 2 + 5;
    if (x - half < last) return;
    const d = el("div", "spr-off" + (first ? " first" : ""), text);
    d.style.left = `${x}px`;
    d.style.top = `${line.y + 3}px`;
    frag.append(d);
    last = x + half;
  };
  let i = Math.max(0, upper(ends, lo) - 1);
  for (; i < items.length && xs[i] <= hi; i++) put(xs[i], items[i].off, i === 0);
  const n = items.length - 1;
  const endOff = items[n].off + items[n].len;
  if (items[n].len && xs[n] <= hi) put(ends[n], endOff, false);
}

// drawStrip draws the bytes themselves where there is room for them, and a
// plain band where there is not.
function drawStrip(frag, st, track, line, lo, hi) {
  const { B, X } = track;
  let band = null;
  const flush = () => {
    if (!band) return;
    const d = el("div", "spr-band");
    place(d, band[0], line.y + 6, band[1] - band[0], line.h - 12);
    frag.append(d);
    band = null;
  };
  let cells = 0;
  for (let i = Math.max(0, upper(X, lo) - 1); i + 1 < B.length && X[i] <= hi; i++) {
    const n = B[i + 1] - B[i];
    const w = X[i + 1] - X[i];
    const data = w / n >= CHAR_W && cells < 4000 ? byteRun(st, track, B[i], B[i + 1]) : null;
    if (!data) {
      if (band && band[1] >= X[i] - 0.5) band[1] = X[i + 1];
      else {
        flush();
        band = [X[i], X[i + 1]];
      }
      continue;
    }
    flush();
    const cw = w / n;
    const k0 = Math.max(0, Math.floor((lo - X[i]) / cw));
    const k1 = Math.min(n, Math.ceil((hi - X[i]) / cw));
    for (let k = k0; k < k1; k++) {
      const [t, cls] = byteText(data[k]);
      const c = el("div", "spr-byte" + (cls ? " " + cls : ""), t);
      place(c, X[i] + k * cw, line.y, cw, line.h);
      c.title = `byte ${fmt(B[i] + k)}: 0x${data[k].toString(16).padStart(2, "0")}`;
      frag.append(c);
      cells++;
    }
  }
  flush();
}

// drawFlight shades the bytes sent and not yet returned by a recv: they
// are in the kernel's queues, or on their way.
function drawFlight(frag, track, lo, hi) {
  const [a, b] = track.flight;
  const x0 = track.xOf(a);
  const x1 = track.xOf(b);
  if (x1 < lo || x0 > hi) return;
  const strip = track.lines.find((l) => l.type === "strip");
  const recv = track.lines.find((l) => l.type === "segs" && l.row.role === "recv");
  const n = b - a;
  const d = el("div", "spr-flight", x1 - x0 > 150 ? `${plural(n, "byte")} not read yet` : x1 - x0 > 40 ? fmt(n) : "");
  place(d, x0, strip.y, x1 - x0, recv.y + recv.h - strip.y);
  d.style.borderTop = "0";
  d.title = `${plural(n, "byte")} (bytes ${fmt(a)}–${fmt(b - 1)}) sent by ${track.rows[0].sock} and not yet read by ${track.rows[1].sock}: they wait in the kernel`;
  frag.append(d);
}

export function drawVisible(st, track, left = track.scroller.scrollLeft, vw = track.scroller.clientWidth || 800) {
  // A little either side, so a short scroll shows no blank edge before
  // the next frame redraws.
  const lo = left - vw / 8;
  const hi = left + vw * 1.125;
  const frag = document.createDocumentFragment();
  for (const line of track.lines) {
    if (line.type === "strip") drawStrip(frag, st, track, line, lo, hi);
  }
  if (track.flight) drawFlight(frag, track, lo, hi);
  for (const line of track.lines) {
    if (line.type === "segs" && !line.row.items.length) {
      const d = el("div", "spr-off", line.row.role === "send" ? "nothing sent" : "nothing received");
      d.style.cssText = `left:${PAD_L}px;top:${line.y + line.h / 2 - 6}px;transform:none`;
      frag.append(d);
    } else if (line.type === "segs") drawSegs(frag, st, track, line, lo, hi, [left, left + vw]);
    else if (line.type === "offs") drawOffs(frag, track, line, lo, hi);
  }
  track.canvas.replaceChildren(frag);
}

// flat is bytes as one line of text: escapes for \r \n and the rest.
function flat(b) {
  let s = "";
  for (const [, t] of escapeText(b.length > 256 ? b.subarray(0, 256) : b)) s += t;
  return s;
}


// textOf is a track's bytes as text, wrapped, so that a whole HTTP
// response reads as one: for a stream, each piece between two boundaries
// is a span, shaded by the send that wrote it and underlined by the recv
// that read it, a bar where a call's bytes start, and the bytes not read
// yet marked so; for datagrams, each one on its line with its address.
// Only the last TEXT_MAX bytes are drawn.
export function textOf(st, track) {
  const box = el("div", "spr-text");
  box.dataset.textOf = track.key;
  if (track.kind === "dgram") {
    const all = [];
    for (const row of track.rows) for (const it of row.items) all.push([row, it]);
    all.sort((a, b) => a[1].seq - b[1].seq);
    for (const [row, it] of all.slice(-200)) {
      const line = el("div", `spr-tline ${row.role}`);
      line.dataset.seq = it.seq;
      line.dataset.row = `${track.key}/text`;
      const ev = findEvent(st.events, it.seq);
      const to = row.role === "send" ? (ev && ev.args && ev.args.addr) || "" : it.from;
      line.append(el("span", "spr-tdir", `${row.role === "send" ? ">" : "<"} ${fmt(it.len)} B${to ? (row.role === "send" ? " to " : " from ") + pyAddr(to) : ""}${it.truncated ? ` (of ${fmt(it.size)}: the rest lost)` : ""} `));
      const b = el("span", "spr-tp");
      appendEscaped(b, bytesOf(st, it.seq), "spr-esc");
      line.append(b);
      box.append(line);
    }
    return box;
  }
  const { B } = track;
  const end = B[B.length - 1];
  const start = Math.max(0, end - TEXT_MAX);
  if (start > 0) box.append(el("span", "spr-tmore", `the first ${plural(start, "byte")} are in the transcript\n`));
  const [send, recv] = [track.rows.find((r) => r.role === "send"), track.rows.find((r) => r.role === "recv")];
  const at = { send: -1, recv: -1 };
  // cover is the item of row holding byte a, walking forward from the
  // first one found by halving, and whether byte a starts it.
  const cover = (row, a) => {
    if (!row) return null;
    const items = row.items;
    let i = at[row.role];
    if (i < 0) i = holding(items, a);
    while (i < items.length && (items[i].off + items[i].len <= a || !items[i].len)) i++;
    at[row.role] = i;
    const it = items[i];
    return it && it.off <= a ? { i, it, first: it.off === a } : null;
  };
  // At most MAX_PIECES pieces: a stream of 1-byte sends is text too.
  let k0 = Math.max(0, upper(B, start) - 1);
  if (B.length - 1 - k0 > MAX_PIECES) {
    k0 = B.length - 1 - MAX_PIECES;
    box.replaceChildren(el("span", "spr-tmore", `the first ${plural(B[k0], "byte")} are in the transcript\n`));
  }
  for (let k = k0; k + 1 < B.length; k++) {
    const a = Math.max(B[k], start);
    const b = B[k + 1];
    if (b <= a) continue;
    const s = cover(send, a);
    const r = cover(recv, a);
    if (s && s.first) box.append(el("span", "spr-tb send"));
    if (r && r.first) box.append(el("span", "spr-tb recv"));
    const piece = el("span", `spr-tp${s ? ` s${s.i % 2}` : ""}${r ? ` r${r.i % 2}` : recv && send ? " unread" : ""}`);
    const seq = (r || s || {}).it?.seq;
    if (seq) piece.dataset.seq = seq;
    piece.dataset.row = `${track.key}/text`;
    piece.dataset.off = a;
    piece.title = `bytes ${a}–${b - 1}${s ? ` · ${send.sock} ${send.op} seq ${s.it.seq}` : ""}${r ? ` · ${recv.sock} recv seq ${r.it.seq}` : recv && send ? " · not read yet" : ""}`;
    const data = byteRun(st, track, a, b);
    if (data) appendEscaped(piece, data, "spr-esc");
    else piece.append(el("span", "spr-esc", `[${plural(b - a, "byte")} the log does not hold]`));
    box.append(piece);
  }
  return box;
}
