// The ruler's model: what went through a socket, as byte ranges, read
// from the log. A stream socket's sends and recvs become offsets in its
// byte stream; a datagram socket's datagrams a list. Worked out once per
// log array and extended as events are appended.

import { datagram, made, moved } from "../event.js";

// typeOf finds a socket's type in the log when the caller does not know it.
export function typeOf(events, sock) {
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

export function keptStream(events, sock, type) {
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

