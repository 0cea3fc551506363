// How an event reads, wherever the page shows one: its call (short, on
// its socket, or as typed at Python's prompt), its result (in words, or
// as Python prints it), the few words of its timeline mark and their
// title, where in a program it was made, what it did to its socket's
// bytes, and the bytes a row shows. The log, the timeline, the ruler, the
// lessons, the detail pane and the cards read events through this module;
// ops.js renders the op table's Python forms it builds on.

import { fromB64, hexBytes, pyBytes, resultBytes } from "./bytes.js";
import { duration, fmt, plural, secs } from "./format.js";
import { FAMILIES, TYPES, optValue, pyAddr, pyForm, pyResult } from "./ops.js";

// The calls that move a stream's bytes, one syscall each: the parts of
// sendchunks and recvall are such calls, their summaries are not.
const SENDS = new Set(["send", "sendall", "sendto"]);
const RECVS = new Set(["recv", "recvfrom"]);

// An event made by an auto loop (autorecv, autoaccept) is marked so.
const AUTO = "⟳ ";

// A call that took this long (µs) says so in its row.
const SLOW = 50000;

// ---- the call -----------------------------------------------------------

// callText writes the op as the Python call that makes it, in the short
// form a socket's own row shows.
export function callText(op, args) {
  return op === "stats" ? "kernel stats" : pyForm(op, args);
}

// call is the event's call as its log row shows it.
export function call(ev) {
  return (ev.auto ? AUTO : "") + callText(ev.op, ev.args);
}

// callOn is the call on its socket: s1.recv(4).
export function callOn(ev) {
  return `${ev.sock ? ev.sock + "." : ""}${callText(ev.op, ev.args)}`;
}

// took is how long the call took, for a call slow enough to say it.
export function took(ev) {
  const dur = ev.t - ev.start;
  return dur >= SLOW ? ` ${(dur / 1e6).toFixed(3)} s` : "";
}

// ---- the result -----------------------------------------------------------

// resultText is what the call returned, in Python's terms; the bytes
// themselves are in the data column.
export function resultText(ev) {
  if (!ev.ok) {
    const e = ev.error;
    const sent = ev.result && ev.result.n !== undefined ? ` (${ev.result.n} bytes were sent before it)` : "";
    return (e.errno ? `${e.exc}: [Errno ${e.num}] ${e.msg}` : `${e.exc}: ${e.msg}`) + sent;
  }
  const r = ev.result || {};
  switch (ev.op) {
    case "recv":
    case "recvfrom": {
      const from = ev.op === "recvfrom" ? `, from ${r.addr ? pyAddr(r.addr) : "None"}` : ev.auto && r.addr ? ` from ${pyAddr(r.addr)}` : "";
      if (r.eof) return "b'' — EOF: the peer closed its side";
      if (r.truncated) return `${r.n} of a ${r.size}-byte datagram: TRUNCATED, the rest is gone${from}`;
      if (r.note) return r.note;
      return `${r.n} byte${r.n === 1 ? "" : "s"}${from}`;
    }
    case "send":
    case "sendto": {
      const d = ev.args && ev.args.data;
      const want = d ? fromB64(d.b64).length * (d.repeat ?? 1) : 0;
      return r.n < want ? `${r.n} — partial: ${want - r.n} of ${want} bytes not sent` : `${r.n}`;
    }
    case "sendall":
      return "None (all sent)";
    case "recvall":
      return r.eof ? `${r.n} bytes, then EOF: ${r.note}` : `${r.n} bytes`;
    case "sendchunks":
      return `${r.n} bytes in chunks`;
    case "socket":
      return `${r.sock}`;
    case "accept":
      return `(${r.sock}, ${pyAddr(r.peer)})`;
    case "connect":
      // An AF_UNIX client is unnamed unless it was bound: no "from".
      return r.local ? `None (from ${pyAddr(r.local)})` : "None";
    case "bind":
      return r.local ? `None · bound to ${pyAddr(r.local)}` : "None";
    case "getsockname":
      return pyAddr(r.local);
    case "getpeername":
      return pyAddr(r.peer);
    case "getsockopt":
      return optValue(r.value);
    case "gethostbyname":
      return `'${r.addr}'`;
    case "getaddrinfo":
      return (r.addrinfo || []).map((a) => `(${FAMILIES[a.family]}, ${TYPES[a.type] || "SOCK_RAW"}, ${a.proto}, ${pyAddr(a.addr)})`).join(", ");
    case "settimeout":
    case "setblocking":
    case "gettimeout":
      return r.mode === "timeout" ? `None · timeout ${r.timeout} s` : `None · ${r.mode}`;
    case "autorecv":
      return r.on ? `on, bufsize ${r.bufsize}` : "off";
    case "autoaccept":
      return r.on ? "on" : "off";
    case "stats":
      return statsText(r.stats);
    default:
      // As Python prints it, from the op table (gethostname's name, say).
      return pyResult(ev);
  }
}

// statsText is a kernel stats event's result: the queues and TCP_INFO.
export function statsText(st) {
  if (!st) return "";
  const parts = [];
  if (st.tcp_state) parts.push(st.tcp_state);
  if (st.acceptq !== undefined) parts.push(`accept queue ${st.acceptq}/${st.backlog}`);
  else parts.push(`recv-Q ${st.recvq}`, `send-Q ${st.sendq}`);
  if (st.rtt_us) parts.push(`rtt ${(st.rtt_us / 1000).toFixed(2)} ms`);
  if (st.cwnd) parts.push(`cwnd ${st.cwnd}`);
  if (st.retrans) parts.push(`retrans ${st.retrans}`);
  return parts.join(" · ");
}

// errorTitle is a failed call's exception, errno and message, whole.
export function errorTitle(ev) {
  return `${ev.error.exc}${ev.error.errno ? " " + ev.error.errno : ""}: ${ev.error.msg}`;
}

// ---- the Python view ---------------------------------------------------------

// pyCall is the op as typed at Python's prompt, on the socket's variable.
export function pyCall(ev) {
  if (ev.op === "stats") return `# the kernel's view of ${ev.sock}`;
  const c = pyForm(ev.op, ev.args, ev.sock || "socket");
  if (ev.op === "socket") return `${ev.sock} = ${c}`;
  const by = ev.parent ? `part of call ${ev.parent}` : ev.op === "accept" ? "autoaccept" : "autorecv";
  return ev.auto ? `${c}  # ${by}` : c;
}

// pyPrompt is the call after Python's prompt.
export function pyPrompt(ev) {
  return ">>> " + pyCall(ev);
}

// pyRepr is what Python prints for the call: the repr of its value, or
// the exception (nothing for an assignment).
export function pyRepr(ev) {
  return ev.op === "stats" || (ev.op === "socket" && ev.ok) ? "" : pyResult(ev);
}

// ---- where it was made ---------------------------------------------------------

// originTitle is where in a program the call was made: "main.py line 7,
// Thread-1"; "" for a call made by the page.
export function originTitle(ev) {
  const o = ev.origin;
  return o && o.line ? `${o.file || ""} line ${o.line}${o.thread ? `, ${o.thread}` : ""}` : "";
}

// detailTitle heads the detail pane: seq, socket, call, and where in a
// program it was made.
export function detailTitle(ev) {
  const o = ev.origin;
  const at = o && o.line ? ` · made at ${o.file} line ${o.line}${o.thread ? ` (${o.thread})` : ""}` : "";
  return `seq ${ev.seq} · ${ev.sock || "session"} · ${callText(ev.op, ev.args)}${at}`;
}

// ---- the timeline's marks ---------------------------------------------------------

// kind is how a mark is drawn: "send", "recv" (with " eof" or " trunc"),
// "err" or "other".
export function kind(ev) {
  const r = ev.result || {};
  if (!ev.ok) return "err";
  if (SENDS.has(ev.op) || ev.op === "sendchunks") return "send";
  if (RECVS.has(ev.op) || ev.op === "recvall") return r.eof ? "recv eof" : r.truncated ? "recv trunc" : "recv";
  return "other";
}

// preview shows the first 12 bytes of data without decoding all of it:
// data is a b64 string (16 characters are 12 bytes) or bytes.
function preview(data, more) {
  if (!data || !data.length) return "b''";
  const b = typeof data === "string" ? fromB64(data.slice(0, 16)) : data.subarray(0, 12);
  const cut = typeof data === "string" ? data.length > 16 : data.length > 12;
  return pyBytes(b) + (cut || more ? "…" : "");
}

// label is the few words a mark carries on its lane; the title has the rest.
export function label(ev) {
  const r = ev.result || {};
  const a = ev.args || {};
  const auto = ev.auto ? AUTO : "";
  if (!ev.ok) return `${auto}${ev.op} ✗ ${ev.error ? ev.error.exc : "error"}`;
  switch (ev.op) {
    case "send":
    case "sendall":
    case "sendto":
    case "sendchunks": {
      const d = a.data || {};
      return `${auto}${ev.op} ${fmt(r.n ?? 0)} ${preview(d.b64, d.repeat > 1)}`;
    }
    case "recv":
    case "recvfrom":
    case "recvall":
      if (r.eof && !r.n) return `${auto}${ev.op} → b'' EOF`;
      if (r.truncated) return `${auto}${ev.op} ${fmt(r.n)} of ${fmt(r.size)} TRUNCATED`;
      return `${auto}${ev.op} ${fmt(r.n ?? 0)} ${preview(r.bytes || r.b64)}`;
    case "socket":
    case "accept":
      return `${auto}${ev.op} → ${r.sock || ""}`;
    case "connect":
    case "bind":
      return `${ev.op} ${a.addr || ""}`;
    case "listen":
      return `listen(${a.backlog ?? ""})`;
    case "settimeout":
      return `settimeout(${a.timeout === null ? "None" : a.timeout})`;
    default:
      return auto + ev.op;
  }
}

// title is a mark's whole story: when, how long, the call and its result.
export function title(ev) {
  const spent = ev.t - (ev.start ?? ev.t);
  let res;
  try {
    res = resultText(ev);
  } catch {
    res = ev.ok ? "ok" : "error";
  }
  return `#${ev.seq} at ${secs(ev.t)}${spent > 0 ? ` (took ${duration(spent)})` : ""}${ev.auto ? " · auto" : ""}\n${callOn(ev)} → ${res}`;
}

// ---- pending calls ---------------------------------------------------------------

// A pending call ({call, sock, op, args, start}) is a call not returned
// yet; now and until are session µs.

// pendingText is a pending call on its card.
export function pendingText(p, now) {
  return `${callText(p.op, p.args)} … pending ${Math.max(0, (now - p.start) / 1e6).toFixed(1)} s`;
}

// pendingLabel is a pending call's words on the timeline.
export function pendingLabel(p, until) {
  return `${callText(p.op, p.args)} pending ${duration(Math.max(0, until - p.start))}`;
}

// pendingTitle is a pending call's whole story on the timeline.
export function pendingTitle(p, until) {
  return `call ${p.call}: ${p.sock ? p.sock + "." : ""}${pendingLabel(p, until)} (since ${secs(p.start)})`;
}

// ---- what it did to the socket's bytes ----------------------------------------------

// moved is what one event did to its socket's byte stream: null, or
// {dir: "send" | "recv", n, eof}. Only what really moved counts (result.n,
// not what was asked for: a send that queued 37 of 100 bytes moves the
// stream on by 37). The parts of sendchunks and recvall count; their
// summary events (ops "sendchunks", "recvall") do not, so no byte counts
// twice. A sendall that failed after moving some bytes counts them.
// recv(0) returns b'' without reading: neither bytes nor EOF.
export function moved(ev) {
  const r = ev.result;
  const n = r && r.n;
  if (typeof n !== "number") return null;
  if (SENDS.has(ev.op)) return n > 0 ? { dir: "send", n, eof: false } : null;
  if (!RECVS.has(ev.op) || !ev.ok) return null;
  if (ev.op === "recv" && ev.args && ev.args.bufsize === 0) return null;
  if (n === 0 && !r.eof) return null;
  return { dir: "recv", n, eof: !!r.eof };
}

// datagram is what one event did on a datagram socket: null, a datagram
// sent ({dir: "send", len}) or one received ({dir: "recv", len, size,
// truncated, from}). recv(0) takes no datagram from the queue; recvfrom(0)
// does.
export function datagram(ev) {
  const r = ev.result;
  if (!ev.ok || !r || typeof r.n !== "number") return null;
  if (SENDS.has(ev.op)) return { dir: "send", len: r.n };
  if (!RECVS.has(ev.op) || (ev.op === "recv" && ev.args && ev.args.bufsize === 0)) return null;
  return { dir: "recv", len: r.n, size: r.truncated ? r.size : r.n, truncated: !!r.truncated, from: r.addr || "" };
}

// ends says whether the event ends its socket's sending side: a close, or
// a shutdown of the writing half; the peer reads EOF after it.
export function ends(ev) {
  return ev.ok && !!ev.sock && (ev.op === "close" || (ev.op === "shutdown" && !!ev.args && ["SHUT_WR", "SHUT_RDWR", 1, 2].includes(ev.args.how)));
}

// made is the type of the socket the event made ("stream" or "dgram"),
// or null: socket() says it; accept() only makes stream sockets.
export function made(ev) {
  const r = ev.result;
  if (!r || !r.sock) return null;
  if (ev.op === "socket") return r.type || (ev.args && ev.args.type) || "stream";
  if (ev.op === "accept") return "stream";
  return null;
}

// movedBytes is what the event moved: for a send the bytes that went (the
// data, repeated if asked, cut at n), for a recv what it returned.
export function movedBytes(ev) {
  const n = (ev.result && ev.result.n) || 0;
  if (!SENDS.has(ev.op)) return resultBytes(ev.result);
  const d = (ev.args && ev.args.data) || {};
  const unit = fromB64(d.b64);
  const b = new Uint8Array(unit.length ? n : 0);
  for (let i = 0; i < b.length; i += unit.length) b.set(unit.subarray(0, b.length - i), i);
  return b;
}

// dataOf is what a row shows in its data column: received or sent bytes.
export function dataOf(ev) {
  const r = ev.result || {};
  if ((ev.op === "recv" || ev.op === "recvfrom" || ev.op === "recvall") && ev.ok) return resultBytes(r);
  if (!ev.args || !ev.args.data) return null;
  const unit = fromB64(ev.args.data.b64);
  const n = ev.args.data.repeat;
  if (n === undefined) return unit;
  // A repeat is shown by its start: enough copies for the column.
  const copies = Math.min(n, Math.ceil(4096 / Math.max(unit.length, 1)));
  const out = new Uint8Array(unit.length * copies);
  for (let i = 0; i < copies; i++) out.set(unit, i * unit.length);
  return out;
}

// dataPreview is the data column's two lines: the first max bytes as a
// bytes literal, and the first hexMax in hex; "" for both when there are
// none. What is left out is counted.
export function dataPreview(ev, max, hexMax = 24) {
  const b = dataOf(ev);
  if (!b) return { text: "", hex: "" };
  const short = b.length > max ? b.subarray(0, max) : b;
  const h = Math.min(max, hexMax);
  return {
    text: pyBytes(short) + (b.length > max ? ` +${fmt(b.length - max)} bytes` : ""),
    hex: hexBytes(short.subarray(0, h)) + (b.length > h ? ` +${fmt(b.length - h)}` : ""),
  };
}

// ---- the ruler's segments -------------------------------------------------------------

// bytesText says what a stream segment is: the bytes one call moved on
// sock ({seq, off, len, err, auto}), or an EOF ({seq, off, eof}).
export function bytesText(sock, op, it) {
  if (it.eof) return `${sock} recv seq ${it.seq}: EOF at byte ${fmt(it.off)} (recv returned b'')`;
  const what = `${sock} ${op} seq ${it.seq}: bytes ${fmt(it.off)}–${fmt(it.off + it.len - 1)} (${fmt(it.len)})`;
  return what + (it.err ? " — then the call failed" : "") + (it.auto ? " (auto)" : "");
}

// datagramText says what a datagram box is: one sent or received (role
// "send" or "recv") by sock, {seq, len, size, truncated, from}.
export function datagramText(role, sock, it) {
  const dir = role === "send" ? `sent datagram` : `received datagram`;
  if (role === "send") return `${sock} ${dir} seq ${it.seq}: ${plural(it.len, "byte")}`;
  const from = it.from ? ` from ${it.from}` : "";
  if (it.truncated) return `${sock} ${dir} seq ${it.seq}: ${fmt(it.len)} of ${fmt(it.size)} bytes — truncated, ${plural(it.size - it.len, "byte")} lost${from}`;
  return `${sock} ${dir} seq ${it.seq}: ${plural(it.len, "byte")}${from}`;
}
