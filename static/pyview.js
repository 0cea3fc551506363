// The Python view of events: each op as the call that makes it, and its
// result as Python would give it.

import { pyBytes, fromB64, resultBytes } from "./bytes.js";

// pyAddr writes an address as Python does: ('host', port), ('::1', port,
// 0, 0) for IPv6 (as Python prints it; it takes that form too), or a path.
export function pyAddr(a) {
  const v6 = /^\[(.*)\]:(\d+)$/.exec(a || "");
  if (v6) return `('${v6[1]}', ${v6[2]}, 0, 0)`;
  const v4 = /^(.*):(\d+)$/.exec(a || "");
  if (v4) return `('${v4[1]}', ${v4[2]})`;
  return `'${a || ""}'`;
}

function shorten(s, n = 40) {
  return s.length > n ? s.slice(0, n) + "…" : s;
}

const FAMILIES = { inet: "AF_INET", inet6: "AF_INET6", unix: "AF_UNIX" };
const TYPES = { stream: "SOCK_STREAM", dgram: "SOCK_DGRAM" };

function pyValue(v) {
  if (v === undefined) return "";
  if (typeof v === "object" && v !== null && "onoff" in v) return `struct.pack('ii', ${v.onoff}, ${v.linger})`;
  if (v === true) return "1";
  if (v === false) return "0";
  return JSON.stringify(v);
}

// callText writes the op as the Python call that makes it.
export function callText(op, args) {
  args = args || {};
  const data = args.data ? shorten(pyBytes(fromB64(args.data.b64))) + (args.data.repeat !== undefined ? ` * ${args.data.repeat}` : "") : "";
  switch (op) {
    case "socket":
      return `socket(${FAMILIES[args.family] || "AF_INET"}, ${TYPES[args.type] || "SOCK_STREAM"})`;
    case "connect":
    case "bind":
      return `${op}(${pyAddr(args.addr)})`;
    case "listen":
      return args.backlog === undefined ? "listen()" : `listen(${args.backlog})`;
    case "recv":
    case "recvfrom":
      return `${op}(${args.bufsize})`;
    case "recvall":
      return `recvall(${args.bufsize})`;
    case "send":
    case "sendall":
      return `${op}(${data})`;
    case "sendto":
      return `sendto(${data}, ${pyAddr(args.addr)})`;
    case "sendchunks":
      return `sendchunks(${data}, chunk=${args.chunk}, delay=${args.delay || 0})`;
    case "settimeout":
      return `settimeout(${args.timeout === null ? "None" : args.timeout})`;
    case "setblocking":
      return `setblocking(${args.flag ? "True" : "False"})`;
    case "shutdown":
      return `shutdown(${args.how})`;
    case "setsockopt":
      return `setsockopt(${args.level || "SOL_SOCKET"}, ${args.name}, ${pyValue(args.value)})`;
    case "getsockopt":
      return `getsockopt(${args.level || "SOL_SOCKET"}, ${args.name})`;
    case "getaddrinfo":
      return `getaddrinfo('${args.host}', ${args.port === undefined ? "None" : JSON.stringify(args.port)})`;
    case "gethostbyname":
      return `gethostbyname('${args.host}')`;
    case "autorecv":
      return args.on === false ? "autorecv(off)" : `autorecv(${args.bufsize ?? 4096})`;
    case "autoaccept":
      return args.on === false ? "autoaccept(off)" : "autoaccept()";
    case "stats":
      return "kernel stats";
    default:
      return `${op}()`;
  }
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
      return pyValue(r.value);
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
  const a = ev.args || {};
  if (ev.op === "socket") return `${ev.sock} = socket.socket(${FAMILIES[a.family] || "AF_INET"}, ${TYPES[a.type] || "SOCK_STREAM"})`;
  if (ev.op === "getaddrinfo" || ev.op === "gethostbyname") return "socket." + callText(ev.op, a);
  if (ev.op === "stats") return `# the kernel's view of ${ev.sock}`;
  const c = callText(ev.op, a);
  if (ev.op === "recvall") return `recvall(${ev.sock}, ${a.bufsize})`;
  const by = ev.parent ? `part of call ${ev.parent}` : ev.op === "accept" ? "autoaccept" : "autorecv";
  return ev.auto ? `${ev.sock}.${c}  # ${by}` : `${ev.sock}.${c}`;
}

// pyRepr is what Python prints for the call: the repr of its value, or
// the exception.
export function pyRepr(ev) {
  if (!ev.ok) {
    const e = ev.error;
    return e.errno ? `${e.exc}: [Errno ${e.num}] ${e.msg}` : `${e.exc}: ${e.msg}`;
  }
  const r = ev.result || {};
  switch (ev.op) {
    case "recv":
    case "recvall":
      return pyBytes(resultBytes(r));
    case "recvfrom":
      return `(${pyBytes(resultBytes(r))}, ${r.addr === undefined ? "None" : pyAddr(r.addr)})`;
    case "send":
    case "sendto":
    case "sendchunks":
      return String(r.n);
    case "accept":
      return `(<socket ${r.sock}>, ${pyAddr(r.peer)})`;
    case "getsockname":
      return pyAddr(r.local);
    case "getpeername":
      return pyAddr(r.peer);
    case "getsockopt":
      return typeof r.value === "object" ? `(${r.value.onoff}, ${r.value.linger})` : String(r.value);
    case "gettimeout":
      return r.mode === "blocking" ? "None" : String(r.timeout);
    case "gethostbyname":
      return `'${r.addr}'`;
    case "getaddrinfo":
      return "[" + (r.addrinfo || []).map((x) => `(<AddressFamily.${FAMILIES[x.family]}>, <SocketKind.${TYPES[x.type] || "SOCK_RAW"}>, ${x.proto}, '', ${pyAddr(x.addr)})`).join(", ") + "]";
    case "socket":
    case "stats":
      return "";
    default:
      return "None";
  }
}
