// The transcript of a socket, in the manner of `socat -v`: each call that
// moved bytes as one entry, its direction ("> " sent, "< " received), its
// call and seq, its length and its offsets in that direction's stream
// (from=0 to=4), then its bytes as text, with \r, \n, \t and the bytes no
// text has shown as escapes (a \n also ends the line), so that a whole
// HTTP exchange reads as it went. A datagram socket's entries are its
// datagrams, each with its address; a truncated one says what was lost.
//
// API
//   transcriptOf(events, sock, type?) → [{seq, dir, op, off, len, bytes, eof, err, addr, size, truncated, t}]
//   renderTranscript(container, {events, sockets, sock, onFocus})
//
// The entries are worked out once per log array and socket and extended
// as events are appended; the page draws the newest MAX_ENTRIES of them.

import { appendEscaped } from "./bytes.js";
import { el } from "./dom.js";
import { datagram, made, movedBytes, moved } from "./event.js";
import { fmt, plural, secs } from "./format.js";
import { pyAddr } from "./ops.js";

const MAX_ENTRIES = 400; // entries drawn: the newest
const MAX_BYTES = 16384; // bytes of one entry drawn


function typeOf(events, sock, sockets) {
  const s = (sockets || []).find((x) => x.id === sock);
  if (s && s.type) return s.type;
  for (const ev of events) if (made(ev) && ev.result.sock === sock) return made(ev);
  return "stream";
}

// add puts one event of the socket into its transcript.
function add(tr, ev) {
  if (tr.dgram) {
    const d = datagram(ev);
    if (!d) return;
    const a = ev.args || {};
    tr.entries.push({ seq: ev.seq, t: ev.t, op: ev.op, dir: d.dir, len: d.len, bytes: movedBytes(ev), addr: d.dir === "send" ? a.addr || "" : d.from, size: d.size, truncated: d.truncated });
    return;
  }
  const m = moved(ev);
  if (!m) return;
  const off = m.dir === "send" ? tr.sent : tr.recvd;
  tr.entries.push({ seq: ev.seq, t: ev.t, op: ev.op, dir: m.dir, off, len: m.n, bytes: m.n ? movedBytes(ev) : new Uint8Array(0), eof: m.eof, err: !ev.ok, auto: !!ev.auto });
  if (m.dir === "send") tr.sent += m.n;
  else tr.recvd += m.n;
}

// transcriptOf is the socket's entries, in the order of the log.
export function transcriptOf(events, sock, type) {
  const tr = { dgram: (type || typeOf(events, sock)) === "dgram", entries: [], sent: 0, recvd: 0 };
  for (const ev of events) if (ev.sock === sock) add(tr, ev);
  return tr.entries;
}

// kept: per log array, the transcripts worked out, extended by the
// events appended since (the page appends to one array).
const kept = new WeakMap();

function keptTranscript(events, sock, type) {
  let byLog = kept.get(events);
  if (!byLog || byLog.first !== events[0] || byLog.n > events.length) {
    byLog = { first: events[0], n: events.length, map: new Map() };
    kept.set(events, byLog);
  }
  if (byLog.n !== events.length) {
    for (let i = byLog.n; i < events.length; i++) {
      const tr = byLog.map.get(events[i].sock);
      if (tr) add(tr, events[i]);
    }
    byLog.n = events.length;
  }
  let tr = byLog.map.get(sock);
  if (!tr || tr.type !== type) {
    tr = { type, dgram: type === "dgram", entries: [], sent: 0, recvd: 0 };
    for (const ev of events) if (ev.sock === sock) add(tr, ev);
    byLog.map.set(sock, tr);
  }
  return tr;
}

// head is an entry's first line: direction, call, length and offsets.
function head(e, dgram) {
  const dir = e.dir === "send" ? ">" : "<";
  const at = `seq ${e.seq} · ${secs(e.t)}`;
  if (dgram) {
    const to = e.addr ? ` ${e.dir === "send" ? "to" : "from"} ${pyAddr(e.addr)}` : "";
    const cut = e.truncated ? ` of a ${fmt(e.size)}-byte datagram: TRUNCATED, ${plural(e.size - e.len, "byte")} lost` : "";
    return `${dir} ${e.op}${to} length=${e.len}${cut} · ${at}`;
  }
  if (e.eof && !e.len) return `${dir} ${e.op}: EOF at byte ${fmt(e.off)}, the peer closed its side · ${at}`;
  const range = e.len ? ` from=${e.off} to=${e.off + e.len - 1}` : "";
  return `${dir} ${e.op}${e.auto ? " (auto)" : ""} length=${e.len}${range}${e.err ? " · then the call failed" : ""} · ${at}`;
}

// body is an entry's bytes: text and escapes, a \n ending its line.
function body(e) {
  const pre = el("pre", "spx-text");
  const b = e.bytes.length > MAX_BYTES ? e.bytes.subarray(0, MAX_BYTES) : e.bytes;
  appendEscaped(pre, b, "spx-esc");
  if (e.bytes.length > MAX_BYTES) pre.append(el("span", "spx-more", ` … ${plural(e.bytes.length - MAX_BYTES, "more byte")} (the event's detail has them all)`));
  return pre;
}

function entry(e, dgram) {
  const div = el("div", `spx-entry ${e.dir}${e.eof ? " eof" : ""}${e.err ? " err" : ""}${e.truncated ? " trunc" : ""}`);
  div.dataset.seq = e.seq;
  div.tabIndex = 0;
  div.append(el("div", "spx-head", head(e, dgram)));
  if (e.len) div.append(body(e));
  return div;
}

const states = new WeakMap();

// renderTranscript draws the transcript of sock into container; called
// again, it appends what is new. A click or Enter on an entry shows its
// event (onFocus(seq)).
export function renderTranscript(container, { events, sockets, sock, onFocus }) {
  let st = states.get(container);
  if (!st) {
    st = { sock: null, tr: null, drawn: 0, list: null, onFocus };
    states.set(container, st);
    const focus = (e) => {
      const it = e.target.closest(".spx-entry");
      if (it && st.onFocus) st.onFocus(Number(it.dataset.seq));
    };
    container.addEventListener("click", focus);
    container.addEventListener("keydown", (e) => e.key === "Enter" && focus(e));
  }
  st.onFocus = onFocus;
  const type = typeOf(events, sock, sockets);
  const tr = keptTranscript(events, sock, type);
  const s = (sockets || []).find((x) => x.id === sock) || {};
  if (st.sock !== sock || st.tr !== tr || !st.list || !container.contains(st.list)) {
    st.sock = sock;
    st.tr = tr;
    st.drawn = 0;
    st.conn = el("p", "spx-conn");
    st.list = el("div", "spx-list");
    st.list.setAttribute("role", "log");
    st.list.setAttribute("aria-label", `the bytes through ${sock}, as socat -v shows them`);
    st.earlier = el("p", "spx-earlier");
    container.classList.add("spx");
    container.replaceChildren(st.conn, st.earlier, st.list);
  }
  const ends = [s.local, s.peer].filter(Boolean).map(pyAddr).join(" ⇄ ");
  const sum = tr.dgram ? `${plural(tr.entries.length, "datagram")}` : `sent ${plural(tr.sent, "byte")}, received ${plural(tr.recvd, "byte")}`;
  st.conn.textContent = `${sock}${ends ? " " + ends : ""}${s.link ? ` (the other end is ${s.link})` : ""} · ${sum}`;
  const n = tr.entries.length;
  if (!n) {
    st.list.replaceChildren(el("p", "muted spx-empty", `no bytes through ${sock} yet: what it sends and receives shows here, as socat -v shows it`));
    st.earlier.hidden = true;
    return;
  }
  if (n === st.drawn) return;
  const atEnd = st.drawn === 0 || container.scrollHeight - container.scrollTop - container.clientHeight < 24;
  const from = Math.max(st.drawn, n - MAX_ENTRIES);
  if (from > st.drawn || st.drawn === 0) st.list.replaceChildren();
  const frag = document.createDocumentFragment();
  for (let i = from; i < n; i++) frag.append(entry(tr.entries[i], tr.dgram));
  st.list.append(frag);
  while (st.list.childElementCount > MAX_ENTRIES) st.list.firstElementChild.remove();
  st.drawn = n;
  const hidden = n - st.list.childElementCount;
  st.earlier.textContent = hidden > 0 ? `${plural(hidden, "earlier entry", "earlier entries")} not drawn: the log has them` : "";
  st.earlier.hidden = hidden <= 0;
  if (atEnd) container.scrollTop = container.scrollHeight;
}
