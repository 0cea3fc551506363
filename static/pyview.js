// The Python view of events: each op as the call that makes it, and its
// result as Python would give it.

import { fromB64 } from "./bytes.js";
import { FAMILIES, TYPES, optValue, pyAddr, pyForm, pyResult } from "./ops.js";

export { pyAddr };

// callText writes the op as the Python call that makes it, in the short
// form a socket's own row shows.
export function callText(op, args) {
  return op === "stats" ? "kernel stats" : pyForm(op, args);
}

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
      return `None (from ${r.local})`;
    case "bind":
      return `None · bound to ${r.local}`;
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
      return "None";
  }
}

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

// pyCall is the op as typed at Python's prompt, on the socket's variable.
export function pyCall(ev) {
  if (ev.op === "stats") return `# the kernel's view of ${ev.sock}`;
  const c = pyForm(ev.op, ev.args, ev.sock || "socket");
  if (ev.op === "socket") return `${ev.sock} = ${c}`;
  const by = ev.parent ? `part of call ${ev.parent}` : ev.op === "accept" ? "autoaccept" : "autorecv";
  return ev.auto ? `${c}  # ${by}` : c;
}

// pyRepr is what Python prints for the call: the repr of its value, or
// the exception (nothing for an assignment).
export function pyRepr(ev) {
  return ev.op === "stats" || (ev.op === "socket" && ev.ok) ? "" : pyResult(ev);
}
