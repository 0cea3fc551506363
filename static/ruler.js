// The stream ruler: a socket's bytes drawn to scale. For TCP, each
// direction's byte stream is drawn once, with the boundaries of the sends
// that wrote it above and of the recvs that read it below, so that "three
// sends became four recvs" is a picture, not a sentence: TCP keeps the
// bytes and their order, never the boundaries. For UDP every datagram is
// its own box, because there the boundaries are the message, and a
// truncated datagram shows the part that was lost.
//
// API
//   streamOf(events, sock, type?) → {sent, recvd, datagrams: {sent, recvd}}
//   renderRuler(container, {events, sockets, sock, onFocus})
//   zoomRuler(container, factor), fitRuler(container), bytesRuler(container)
//   and, for the other views: findEvent(events, seq)
//
// events must be in seq order, as the page receives them. The view keeps
// its zoom and scroll position per container across calls, so the page can
// call renderRuler again on every new event.

import { el } from "./dom.js";
import { bytesText, datagram, datagramText, made, moved, movedBytes } from "./event.js";
import { fmt, plural } from "./format.js";

const MIN_W = 4; // px: a 1-byte send next to a 64 KiB one stays visible and hoverable
const CHAR_W = 11; // px per byte from which the bytes themselves are drawn
const BYTES_SCALE = 16; // px per byte of the "bytes" zoom: legible on a projector
const MAX_SCALE = 48; // px per byte: a 5-byte stream is not stretched across the screen
const MAX_CANVAS = 3e7; // px: Chromium's layout units stop near 2^25
const PAD_L = 14; // room for the first offset label
const PAD_R = 56; // room for an EOF mark after the last byte
const DGRAM_GAP = 8;
const DGRAM_MIN = 34;
const EOF_W = 40;
const LABEL_W = 116; // px of the row labels left of the ruler

// ---- the data ------------------------------------------------------------

// typeOf finds a socket's type in the log when the caller does not know it.
function typeOf(events, sock) {
  for (const ev of events) {
    const t = made(ev);
    if (t && ev.result.sock === sock) return t;
  }
  return "stream";
}

function newStream() {
  return { sent: [], recvd: [], datagrams: { sent: [], recvd: [] } };
}

// add puts one event's bytes into its socket's stream, or for a datagram
// socket its datagram into the list.
function add(s, ev, dgram) {
  if (dgram) {
    const d = datagram(ev);
    if (!d) return;
    if (d.dir === "send") s.datagrams.sent.push({ seq: ev.seq, len: d.len });
    else s.datagrams.recvd.push({ seq: ev.seq, len: d.len, size: d.size, truncated: d.truncated, from: d.from });
    return;
  }
  const m = moved(ev);
  if (!m) return;
  const list = m.dir === "send" ? s.sent : s.recvd;
  const last = list[list.length - 1];
  const off = last ? last.off + last.len : 0;
  if (m.dir === "recv") {
    list.push({ seq: ev.seq, off, len: m.n, eof: m.eof });
    return;
  }
  const seg = { seq: ev.seq, off, len: m.n, auto: !!ev.auto };
  if (!ev.ok) seg.err = true;
  list.push(seg);
}

// streamOf is what went through sock, as byte ranges: sent and recvd for a
// stream socket ({seq, off, len, auto[, err]} and {seq, off, len, eof}),
// datagrams.sent ({seq, len}) and datagrams.recvd ({seq, len, size,
// truncated, from}) for a datagram socket. type ("stream" or "dgram") is
// read from the log when not given.
export function streamOf(events, sock, type) {
  const dgram = (type || typeOf(events, sock)) === "dgram";
  const s = newStream();
  for (const ev of events) if (ev.sock === sock) add(s, ev, dgram);
  return s;
}

// kept remembers, per log array, the streams already worked out, so that
// drawing again after a new event reads only the new events: the page
// appends to one array, and offsets depend only on what came before.
const kept = new WeakMap();

function keptStream(events, sock, type) {
  let byLog = kept.get(events);
  if (!byLog || byLog.first !== events[0] || byLog.n > events.length) {
    byLog = { first: events[0], n: events.length, streams: new Map() };
    kept.set(events, byLog);
  }
  if (byLog.n !== events.length) {
    for (const k of byLog.streams.values()) {
      for (let i = byLog.n; i < events.length; i++) if (events[i].sock === k.sock) add(k.s, events[i], k.dgram);
    }
    byLog.n = events.length;
  }
  const key = `${sock} ${type}`;
  let k = byLog.streams.get(key);
  if (!k) {
    k = { sock, dgram: type === "dgram", s: streamOf(events, sock, type) };
    byLog.streams.set(key, k);
  }
  return k.s;
}

// findEvent looks an event up by seq in a log kept in seq order.
export function findEvent(events, seq) {
  let lo = 0;
  let hi = events.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = events[mid].seq;
    if (s === seq) return events[mid];
    if (s < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

// ---- shared with the other views ------------------------------------------

// ---- layout ----------------------------------------------------------------

// fitScale finds px per byte so that boxes of these byte lengths, each at
// least minW wide, with gap between them, fill width. Boxes held at minW
// take room the rest cannot use, so a few rounds re-divide what is left.
function fitScale(lens, width, minW, gap) {
  let total = 0;
  for (const b of lens) total += b;
  if (total === 0) return MAX_SCALE;
  const room = width - gap * lens.length;
  let s = Math.max(room, 1) / total;
  for (let round = 0; round < 6; round++) {
    let small = 0;
    let smallBytes = 0;
    for (const b of lens) {
      if (b * s < minW) {
        small++;
        smallBytes += b;
      }
    }
    const left = room - small * minW;
    if (left <= 0 || total === smallBytes) break;
    const next = left / (total - smallBytes);
    if (Math.abs(next - s) < s * 1e-3) {
      s = next;
      break;
    }
    s = next;
  }
  return Math.min(s, MAX_SCALE);
}

// upper is the first index i with a[i] > x (a sorted ascending).
function upper(a, x) {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// boundaries lists a row's segment edges in order, without repeats.
function boundaries(items) {
  const out = new Float64Array(items.length * 2 + 1);
  let m = 0;
  out[m++] = 0;
  for (const it of items) {
    if (it.off !== out[m - 1]) out[m++] = it.off;
    if (it.len) out[m++] = it.off + it.len;
  }
  return out.subarray(0, m);
}

// merge joins two ordered lists of edges, without repeats: the rows are
// each in order already, so no sort is needed.
function merge(a, b) {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let m = 0;
  while (i < a.length || j < b.length) {
    const v = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (m === 0 || v !== out[m - 1]) out[m++] = v;
  }
  return out.subarray(0, m);
}

// A stream track maps byte offsets to x through the union of the
// boundaries of all its rows, so that a send boundary and a recv boundary
// at the same byte are at the same pixel, whatever the minimum widths did.
function layoutStream(track, width, zoom) {
  let B = boundaries([]);
  for (const row of track.rows) B = merge(B, boundaries(row.items));
  const m = B.length;
  const lens = new Float64Array(Math.max(m - 1, 0));
  for (let i = 0; i + 1 < m; i++) lens[i] = B[i + 1] - B[i];
  track.fit = fitScale(lens, width - PAD_L - PAD_R, MIN_W, 0);
  const scale = Math.min(track.fit * zoom, MAX_SCALE, MAX_CANVAS / Math.max(track.total, 1));
  const X = new Float64Array(m);
  X[0] = PAD_L;
  for (let i = 0; i + 1 < m; i++) X[i + 1] = X[i] + Math.max(MIN_W, lens[i] * scale);
  track.B = B;
  track.X = X;
  track.scale = scale;
  track.width = X[m - 1] + PAD_R;
  track.xOf = (off) => X[upper(B, off) - 1];
  for (const row of track.rows) {
    const n = row.items.length;
    row.xs = new Float64Array(n);
    row.ends = new Float64Array(n);
    // Items and edges are both in order: walk them together.
    let j = 0;
    for (let i = 0; i < n; i++) {
      const it = row.items[i];
      while (B[j] < it.off) j++;
      row.xs[i] = X[j];
      let k = j;
      while (B[k] < it.off + it.len) k++;
      // An EOF has no bytes; its mark still needs room to be seen.
      row.ends[i] = it.len ? X[k] : X[j] + EOF_W;
    }
  }
}

// offAt is the byte offset drawn at x, for keeping the same bytes in view
// across zooms and new data.
function offAt(track, x) {
  if (track.kind !== "stream") return x / (track.scale || 1);
  const { B, X } = track;
  const i = Math.max(0, upper(X, x) - 1);
  if (i + 1 >= B.length) return B[B.length - 1];
  return B[i] + ((x - X[i]) / (X[i + 1] - X[i])) * (B[i + 1] - B[i]);
}

function xAt(track, off) {
  if (track.kind !== "stream") return off * track.scale;
  const { B, X } = track;
  const i = Math.max(0, upper(B, off) - 1);
  if (i + 1 >= B.length) return X[X.length - 1];
  return X[i] + ((off - B[i]) / (B[i + 1] - B[i])) * (X[i + 1] - X[i]);
}

// Datagrams are laid out one after the other; a truncated one is as wide
// as the datagram was, so the lost part shows.
function layoutDgrams(track, width, zoom) {
  const avail = width - PAD_L - PAD_R;
  let fit = MAX_SCALE;
  for (const row of track.rows) {
    if (row.items.length) fit = Math.min(fit, fitScale(row.items.map((d) => d.size ?? d.len), avail, DGRAM_MIN, DGRAM_GAP));
  }
  track.fit = fit;
  let widest = 0;
  for (const row of track.rows) widest = Math.max(widest, row.items.reduce((a, d) => a + (d.size ?? d.len), 0));
  const scale = Math.min(fit * zoom, MAX_SCALE, MAX_CANVAS / Math.max(widest, 1));
  track.scale = scale;
  let w = 0;
  for (const row of track.rows) {
    const n = row.items.length;
    row.xs = new Float64Array(n);
    row.ends = new Float64Array(n);
    // A datagram's "offset" is the bytes of the datagrams before it, which
    // says how much went this way, though not as one stream.
    row.offs = new Float64Array(n);
    let x = PAD_L;
    let off = 0;
    for (let i = 0; i < n; i++) {
      const d = row.items[i];
      row.offs[i] = off;
      off += d.len;
      row.xs[i] = x;
      row.ends[i] = x + Math.max(DGRAM_MIN, (d.size ?? d.len) * scale);
      x = row.ends[i] + DGRAM_GAP;
    }
    w = Math.max(w, x);
  }
  track.width = w + PAD_R;
}

// ---- tracks ----------------------------------------------------------------

const H = { offs: 18, segs: 38, strip: 34 };

function lines(track, spec) {
  let y = 4;
  track.lines = spec.map(([type, row, label]) => {
    const l = { type, row, label, y, h: H[type] };
    y += l.h + 3;
    return l;
  });
  track.height = y + 2;
}

function total(items) {
  const last = items[items.length - 1];
  return last ? last.off + last.len : 0;
}

// tracksFor decides what to draw for sock: both directions of a connection
// whose two ends are in the session, or what this end alone saw.
function tracksFor(events, sockets, sock) {
  const info = sockets.find((s) => s.id === sock);
  const type = (info && info.type) || typeOf(events, sock);
  const mine = keptStream(events, sock, type);
  if (type === "dgram") {
    const sent = { role: "send", sock, op: "sent", items: mine.datagrams.sent };
    const recvd = { role: "recv", sock, op: "received", items: mine.datagrams.recvd };
    const t = { kind: "dgram", key: `${sock}:dgram`, rows: [sent, recvd], sock };
    const trunc = recvd.items.filter((d) => d.truncated).length;
    t.head = [sock, " datagrams", ` · ${fmt(sent.items.length)} sent · ${fmt(recvd.items.length)} received` + (trunc ? ` · ${fmt(trunc)} truncated` : "")];
    lines(t, [["segs", sent, `${sock} sent`], ["segs", recvd, `${sock} recvd`]]);
    return [t];
  }
  const peer = info && info.link && sockets.some((s) => s.id === info.link) ? info.link : null;
  const tracks = [];
  if (peer) {
    const theirs = keptStream(events, peer, "stream");
    for (const [from, to, snd, rcv] of [[sock, peer, mine.sent, theirs.recvd], [peer, sock, theirs.sent, mine.recvd]]) {
      const send = { role: "send", sock: from, op: "send", items: snd };
      const recv = { role: "recv", sock: to, op: "recv", items: rcv };
      const sentN = total(snd);
      const recvN = total(rcv);
      const t = { kind: "stream", key: `${from}>${to}`, rows: [send, recv], total: Math.max(sentN, recvN), sock: from };
      if (sentN > recvN) t.flight = [recvN, sentN];
      t.head = [`${from} → ${to}`, "", ` · ${plural(sentN, "byte")} sent in ${plural(snd.length, "send")} · ${plural(recvN, "byte")} read in ${plural(rcv.filter((r) => r.len).length, "recv")}` +
        (rcv.some((r) => r.eof) ? " · EOF" : "")];
      lines(t, [["offs", send, ""], ["segs", send, `${from} send`], ["strip", null, "bytes"], ["segs", recv, `${to} recv`], ["offs", recv, ""]]);
      tracks.push(t);
    }
    return tracks;
  }
  const sentN = total(mine.sent);
  const recvN = total(mine.recvd);
  const send = { role: "send", sock, op: "send", items: mine.sent };
  const st = { kind: "stream", key: `${sock}>`, rows: [send], total: sentN, sock };
  st.head = [`${sock} sent`, "", ` · ${plural(sentN, "byte")} in ${plural(mine.sent.length, "send")}`];
  lines(st, [["offs", send, ""], ["segs", send, `${sock} send`], ["strip", null, "bytes"]]);
  const recv = { role: "recv", sock, op: "recv", items: mine.recvd };
  const rt = { kind: "stream", key: `<${sock}`, rows: [recv], total: recvN, sock };
  rt.head = [`${sock} received`, "", ` · ${plural(recvN, "byte")} in ${plural(mine.recvd.filter((r) => r.len).length, "recv")}` + (mine.recvd.some((r) => r.eof) ? " · EOF" : "")];
  lines(rt, [["strip", null, "bytes"], ["segs", recv, `${sock} recv`], ["offs", recv, ""]]);
  tracks.push(st, rt);
  return tracks;
}

// ---- drawing ---------------------------------------------------------------

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

// byteRun returns the bytes [a, b) of a stream track, or null where no
// event in the log says what they were.
function byteRun(st, track, a, b) {
  for (const row of track.rows) {
    const items = row.items;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (items[mid].off + items[mid].len <= a) lo = mid + 1;
      else hi = mid;
    }
    const it = items[lo];
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
    const tw = label.length * 8.6 + 8;
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

function drawVisible(st, track, left = track.scroller.scrollLeft, vw = track.scroller.clientWidth || 800) {
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

// ---- the component -----------------------------------------------------------

const states = new WeakMap();

function stateOf(container) {
  let st = states.get(container);
  if (st) return st;
  st = { zoom: 1, views: new Map(), decoded: new Map(), events: [], tracks: [], opts: null, hover: null };
  states.set(container, st);
  const focus = (e) => {
    const seg = e.target.closest && e.target.closest(".spr-seg");
    if (!seg) return;
    // One call per segment entered, even when a redraw replaced it.
    const key = `${seg.dataset.row}#${seg.dataset.seq}`;
    if (key === st.hover) return;
    st.hover = key;
    if (st.opts && st.opts.onFocus) st.opts.onFocus(Number(seg.dataset.seq));
  };
  container.addEventListener("mouseover", focus);
  container.addEventListener("focusin", focus);
  container.addEventListener("mouseleave", () => (st.hover = null));
  container.addEventListener("keydown", (e) => {
    const seg = e.target.closest && e.target.closest(".spr-seg");
    if (!seg || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
    e.preventDefault();
    stepFocus(st, seg, e.key === "ArrowRight" ? 1 : -1);
  });
  container.addEventListener(
    "wheel",
    (e) => {
      if (!e.ctrlKey || !e.target.closest(".spr-scroll")) return;
      e.preventDefault();
      zoomRuler(container, e.deltaY < 0 ? 1.5 : 1 / 1.5);
    },
    { passive: false },
  );
  return st;
}

// stepFocus moves the keyboard focus along a row, scrolling what was not
// drawn yet into view.
function stepFocus(st, seg, dir) {
  const track = st.tracks.find((t) => seg.dataset.row.startsWith(t.key + "/"));
  if (!track) return;
  const row = track.rows.find((r) => `${track.key}/${r.role}` === seg.dataset.row);
  const i = Number(seg.dataset.i) + dir;
  if (!row || i < 0 || i >= row.items.length) return;
  const sc = track.scroller;
  const x = row.xs[i];
  if (x < sc.scrollLeft || row.ends[i] > sc.scrollLeft + sc.clientWidth) {
    sc.scrollLeft = x - sc.clientWidth / 3;
    track.left = sc.scrollLeft;
    drawVisible(st, track);
  }
  const next = track.canvas.querySelector(`.spr-seg[data-row="${CSS.escape(seg.dataset.row)}"][data-i="${i}"]`);
  if (next) next.focus({ preventScroll: true });
}

// remember notes, per track, which bytes are in view, so a redraw (new
// data, a zoom) shows the same ones; a view that showed the end keeps
// following it.
// The positions are the ones kept from drawing and scrolling, not read
// from the page: reading them would make the browser lay out the old
// drawing just to throw it away.
function remember(st, anchor) {
  for (const t of st.tracks) {
    if (t.left === undefined) continue;
    const atEnd = t.left + t.vw >= t.width - 2;
    const x = anchor === "center" ? t.left + t.vw / 2 : t.left;
    st.views.set(t.key, { off: offAt(t, x), anchor, atEnd: atEnd && anchor !== "center" });
  }
}

// restore is where the view of a track starts after a redraw, computed
// from the layout rather than read back from the page, which would make
// the browser lay the page out before the drawing is done.
function restore(st, track, width) {
  const v = st.views.get(track.key);
  const max = Math.max(0, track.width - width);
  if (!v) return 0;
  if (v.atEnd) return max;
  const x = xAt(track, v.off);
  return Math.min(max, Math.max(0, v.anchor === "center" ? x - width / 2 : x));
}

function toolbar(container, tracks) {
  const bar = el("div", "spr-bar");
  const zoom = el("span", "spr-zoom");
  const btn = (text, key, title, fn) => {
    const b = el("button", "", text);
    b.type = "button";
    b.title = title;
    b.setAttribute("aria-label", title);
    b.dataset.key = key;
    b.addEventListener("click", fn);
    zoom.append(b);
  };
  btn("−", "zoom-out", "zoom out", () => zoomRuler(container, 0.5));
  btn("fit", "zoom-fit", "fit the streams to the width", () => fitRuler(container));
  btn("+", "zoom-in", "zoom in (Ctrl+wheel zooms too)", () => zoomRuler(container, 2));
  btn("bytes", "zoom-bytes", "zoom in until each byte is drawn", () => bytesRuler(container));
  const legend = el("span", "spr-legend");
  const key = (cls, text) => {
    const s = el("span");
    s.append(el("span", "spr-key " + cls), text);
    legend.append(s);
  };
  // Only the keys for what is drawn.
  const dgram = tracks.some((t) => t.kind === "dgram");
  key("send", dgram ? "one datagram sent" : "one send() call");
  key("recv", dgram ? "one datagram received" : "one recv() call");
  if (tracks.some((t) => t.flight)) key("flight", "sent, not read yet: in the kernel");
  if (tracks.some((t) => t.kind === "dgram" && t.rows[1].items.some((d) => d.truncated))) key("lost", "bytes lost to truncation");
  bar.append(zoom, legend);
  return bar;
}

function trackEl(track) {
  const sec = el("section", "spr-track");
  sec.dataset.track = track.key;
  sec.setAttribute("aria-label", track.head[0] + track.head[1]);
  const h = el("h4", "spr-head");
  h.append(el("span", "spr-dir", track.head[0]), track.head[1], el("span", "spr-sub", track.head[2]));
  sec.append(h);
  const body = el("div", "spr-body");
  const labels = el("div", "spr-labels");
  labels.style.height = `${track.height}px`;
  for (const l of track.lines) {
    if (!l.label) continue;
    const d = el("div", "spr-label " + (l.row ? l.row.role : "bytes"), l.label);
    d.style.top = `${l.y}px`;
    d.style.height = `${l.h}px`;
    labels.append(d);
  }
  const sc = el("div", "spr-scroll");
  const canvas = el("div", "spr-canvas");
  canvas.style.height = `${track.height}px`;
  sc.append(canvas);
  body.append(labels, sc);
  sec.append(body);
  track.scroller = sc;
  track.canvas = canvas;
  return sec;
}

function empty(track) {
  return track.rows.every((r) => r.items.length === 0);
}

// renderRuler draws sock's byte streams into container, replacing what is
// there. sockets is the page's socket list (for types and links); onFocus
// (seq) is called when a segment is hovered or focused.
export function renderRuler(container, opts = {}) {
  const st = stateOf(container);
  const { events = [], sockets = [], sock } = opts;
  if (st.events !== events) st.decoded.clear();
  st.opts = opts;
  st.events = events;
  const active = document.activeElement;
  const focusKey = active && container.contains(active) ? active.dataset.key || (active.dataset.row && `${active.dataset.row}#${active.dataset.seq}`) : null;
  // After "fit" nothing is kept: the whole stream is in view.
  if (st.anchor === "fit") st.views.clear();
  else remember(st, st.anchor);
  st.anchor = null;
  const root = el("div", "spr");
  root.style.setProperty("--spr-label-w", `${LABEL_W}px`);
  st.tracks = sock ? tracksFor(events, sockets, sock) : [];
  root.append(toolbar(container, st.tracks));
  if (!sock) root.append(el("p", "spr-none", "Choose a socket to see its byte streams."));
  const shown = [];
  for (const t of st.tracks) {
    if (empty(t)) {
      const p = el("p", "spr-none");
      p.append(el("span", "spr-dir", t.head[0] + t.head[1]), ": nothing yet");
      p.dataset.track = t.key;
      root.append(p);
      continue;
    }
    root.append(trackEl(t));
    shown.push(t);
  }
  // Measured before the swap, while the page's layout is still clean: the
  // scroll area is the container's content box less the label column.
  const cs = getComputedStyle(container);
  const inner = container.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const width = inner > 0 ? Math.max(160, inner - LABEL_W - 2) : 800;
  container.replaceChildren(root);
  st.tracks = shown;
  for (const t of shown) {
    if (t.kind === "stream") layoutStream(t, width, st.zoom);
    else layoutDgrams(t, width, st.zoom);
    t.canvas.style.width = `${Math.max(t.width, width)}px`;
    const left = restore(st, t, width);
    if (left > 0) t.scroller.scrollLeft = left;
    drawVisible(st, t, left, width);
    let queued = false;
    t.left = left;
    t.vw = width;
    t.scroller.addEventListener("scroll", () => {
      t.left = t.scroller.scrollLeft;
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        drawVisible(st, t);
      });
    });
  }
  if (focusKey) {
    const again = [...container.querySelectorAll("[data-key], .spr-seg")].find(
      (e) => (e.dataset.key || `${e.dataset.row}#${e.dataset.seq}`) === focusKey,
    );
    if (again) again.focus({ preventScroll: true });
  }
}

function rerender(container, anchor) {
  const st = states.get(container);
  if (!st || !st.opts) return;
  st.anchor = anchor;
  renderRuler(container, st.opts);
}

// zoomRuler multiplies the scale by factor, keeping the bytes in the middle
// of the view in the middle. The ruler never zooms out past "fit".
export function zoomRuler(container, factor) {
  const st = states.get(container);
  if (!st) return;
  st.zoom = Math.min(Math.max(st.zoom * factor, 1), 1e9);
  rerender(container, "center");
}

export function fitRuler(container) {
  const st = states.get(container);
  if (!st) return;
  st.zoom = 1;
  rerender(container, "fit");
}

// bytesRuler zooms until every byte of the streams gets a cell of its own.
export function bytesRuler(container) {
  const st = states.get(container);
  if (!st || !st.tracks.length) return;
  const fit = Math.min(...st.tracks.map((t) => t.fit || MAX_SCALE));
  st.zoom = Math.max(1, BYTES_SCALE / fit);
  rerender(container, "center");
}
