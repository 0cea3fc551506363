// The ruler's layout: where each byte, segment and label goes. A track
// is one direction of a stream (or a datagram socket's two lists) with
// its rows; layout gives every row's items x positions, and the track a
// width and a scale, from the width on screen and the zoom.

import { fmt, plural } from "../format.js";
import { upper } from "../sorted.js";
import { keptStream, typeOf } from "./model.js";

export const MAX_SCALE = 48; // px per byte: a 5-byte stream is not stretched across the screen
export const PAD_L = 14; // room for the first offset label
const MIN_W = 4; // px: a 1-byte send next to a 64 KiB one stays visible and hoverable
const MAX_CANVAS = 3e7; // px: Chromium's layout units stop near 2^25
const PAD_R = 56; // room for an EOF mark after the last byte
const DGRAM_GAP = 8;
const DGRAM_MIN = 34;
const EOF_W = 40;

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
export function layoutStream(track, width, zoom) {
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
export function offAt(track, x) {
  if (track.kind !== "stream") return x / (track.scale || 1);
  const { B, X } = track;
  const i = Math.max(0, upper(X, x) - 1);
  if (i + 1 >= B.length) return B[B.length - 1];
  return B[i] + ((x - X[i]) / (X[i + 1] - X[i])) * (B[i + 1] - B[i]);
}

export function xAt(track, off) {
  if (track.kind !== "stream") return off * track.scale;
  const { B, X } = track;
  const i = Math.max(0, upper(B, off) - 1);
  if (i + 1 >= B.length) return X[X.length - 1];
  return X[i] + ((off - B[i]) / (B[i + 1] - B[i])) * (X[i + 1] - X[i]);
}

// Datagrams are laid out one after the other; a truncated one is as wide
// as the datagram was, so the lost part shows.
export function layoutDgrams(track, width, zoom) {
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
export function tracksFor(events, sockets, sock) {
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
