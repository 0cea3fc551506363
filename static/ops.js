// The engine's op table, as the server renders it into the page (or, for a
// module loaded elsewhere, as GET /api/ops gives it), and the Python forms
// it holds, rendered for the page: the same forms sockets/export renders
// for an exported script (sockets/optable.go says how they read).

import { pyBytes, pyBytesOf, fromB64, resultBytes } from "./bytes.js";

const embedded = typeof document !== "undefined" && document.getElementById("op-table");
export const opTable = embedded ? JSON.parse(embedded.textContent) : await fetch("/api/ops").then((r) => r.json());

// pyAddr writes an address as Python passes and prints it: ('host',
// port), (host, port, 0, 0) for IPv6 (as Python prints it; it takes that
// form too), or a path; valid Python whatever the text (sockets/export's
// PyAddr reads it alike).
export function pyAddr(a) {
  a = a || "";
  const p = addrParts(a);
  if (!p) return pyStr(a);
  return p.v6 ? `(${pyStr(p.host)}, ${p.port}, 0, 0)` : `(${pyStr(p.host)}, ${p.port})`;
}

// addrParts splits the wire's host:port or [v6]:port, the port written as
// a Python int; null for anything else (a path).
function addrParts(a) {
  const i = a.lastIndexOf(":");
  if (i < 0 || !/^[0-9]+$/.test(a.slice(i + 1))) return null;
  const host = a.slice(0, i);
  const port = a.slice(i + 1).replace(/^0+(?=[0-9])/, "");
  if (host.length >= 2 && host[0] === "[" && host.endsWith("]")) return { host: host.slice(1, -1), port, v6: true };
  if (/[:/[\]]/.test(host)) return null;
  return { host, port, v6: false };
}

export function pyStr(s) {
  return "'" + String(s).replace(/[\\'\n\r\t\0]/g, (c) => ({ "\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\x00" })[c]) + "'";
}

// pyFloat is Python's repr of a float: 2.0, 0.3.
export function pyFloat(f) {
  const s = String(f);
  return /[.e]/.test(s) || !isFinite(f) ? s : s + ".0";
}

function shorten(s, n = 40) {
  return s.length > n ? s.slice(0, n) + "…" : s;
}

export const FAMILIES = { inet: "AF_INET", inet6: "AF_INET6", unix: "AF_UNIX" };
export const TYPES = { stream: "SOCK_STREAM", dgram: "SOCK_DGRAM" };
const HOWS = ["SHUT_RD", "SHUT_WR", "SHUT_RDWR"];
// As getaddrinfo's list prints them.
const ENUMS = {
  inet: "<AddressFamily.AF_INET: 2>",
  inet6: "<AddressFamily.AF_INET6: 10>",
  stream: "<SocketKind.SOCK_STREAM: 1>",
  dgram: "<SocketKind.SOCK_DGRAM: 2>",
  raw: "<SocketKind.SOCK_RAW: 3>",
};

function level(a) {
  if (a.level) return a.level;
  for (const [p, l] of [["TCP_", "IPPROTO_TCP"], ["IPV6_", "IPPROTO_IPV6"], ["IP_", "IPPROTO_IP"]]) if ((a.name || "").startsWith(p)) return l;
  return "SOL_SOCKET";
}

export function optValue(v) {
  if (v === undefined) return "";
  if (typeof v === "object" && v !== null && "onoff" in v) return `struct.pack('ii', ${v.onoff}, ${v.linger})`;
  if (v === true) return "1";
  if (v === false) return "0";
  return JSON.stringify(v);
}

// How each argument reads. m is the module prefix ("socket." or "").
const args = {
  family: (a, m) => m + (FAMILIES[a.family] || "AF_INET"),
  type: (a, m) => m + (TYPES[a.type] || "SOCK_STREAM"),
  addr: (a) => pyAddr(a.addr),
  backlog: (a) => String(a.backlog),
  bufsize: (a) => String(a.bufsize),
  chunk: (a) => String(a.chunk),
  delay: (a) => pyFloat(a.delay || 0),
  data: (a, m, short) => {
    if (!a.data) return "b''";
    // Short, only the first bytes are read: 56 base64 characters are 42
    // bytes, more than the 40 characters shown. A repeat's unit is its
    // literal, as the export writes it.
    const rep = a.data.repeat !== undefined ? ` * ${a.data.repeat}` : "";
    if (short) return shorten(pyBytes(fromB64(a.data.b64.slice(0, 56)))) + rep;
    const b = fromB64(a.data.b64);
    return rep ? pyBytes(b) + rep : pyBytesOf(b);
  },
  timeout: (a) => (a.timeout === null ? "None" : pyFloat(a.timeout)),
  flag: (a) => (a.flag ? "True" : "False"),
  how: (a, m) => m + (typeof a.how === "number" ? HOWS[a.how] || "SHUT_RDWR" : a.how || "SHUT_RDWR"),
  level: (a, m) => m + level(a),
  name: (a, m) => m + a.name,
  value: (a) => optValue(a.value),
  host: (a) => pyStr(a.host || ""),
  port: (a) => (a.port === undefined || a.port === null ? "None" : typeof a.port === "string" ? pyStr(a.port) : String(a.port)),
  rlist: (a) => pyList(a.rlist),
  wlist: (a) => pyList(a.wlist),
  xlist: (a) => pyList(a.xlist),
  kind: (a) => a.kind,
  focus: (a) => focusText(a.focus || {}),
  text: (a, m, short) => (short ? shorten(pyStr(a.text || "")) : pyStr(a.text || "")),
};

// focusText is where the owner looks, as the log reads it (as
// sockets.Focus.String).
function focusText(f) {
  const parts = [];
  if (f.sock) parts.push(f.sock);
  if (f.view) parts.push(f.view);
  if (f.lesson) parts.push(`lesson ${f.lesson} step ${f.step || 0}`);
  if (f.file) parts.push(`${f.file} line ${f.line || 0}`);
  return parts.join(", ");
}

// pyList is a list of sockets, by their names.
function pyList(socks) {
  return `[${(socks || []).join(", ")}]`;
}

// pyForm renders op's Python form for args. With sock, it is the call on
// that socket's variable, as typed at Python's prompt; without, the short
// form a socket's own row shows: recv(4), socket(AF_INET, SOCK_STREAM).
export function pyForm(op, a, sock = "") {
  a = a || {};
  const info = opTable[op];
  if (!info) return `${op}()`;
  const short = !sock;
  const m = short ? "" : "socket.";
  let form = info.py_off && a.on === false ? info.py_off : info.py;
  if (short) form = form.replace(/\{sock\}(\.|, )/g, "").replace(/socket\./g, "");
  return form.replace(/(, )?\{([a-z_]+)(=\?|\?|\|[^}]*)?\}/g, (whole, sep, name, mod) => {
    sep = sep || "";
    if (name === "sock") return sep + sock;
    const has = a[name] !== undefined;
    if (mod === "=?") return has ? `${sep}, ${name}=${args[name](a, m, short)}` : sep;
    if (mod === "?") return has ? sep + args[name](a, m, short) : "";
    if (mod && mod[0] === "|" && !has) return sep + mod.slice(1);
    return sep + (args[name] ? args[name](a, m, short) : name);
  });
}

// pyResult is what Python prints for the call's value: the repr of what
// it returned, or the exception.
export function pyResult(ev) {
  if (!ev.ok) {
    const e = ev.error;
    return e.errno ? `${e.exc}: [Errno ${e.num}] ${e.msg}` : `${e.exc}: ${e.msg}`;
  }
  const r = ev.result || {};
  const info = opTable[ev.op];
  switch (info && info.result) {
    case "socket":
      return `<socket ${r.sock}>`;
    case "bytes":
      return pyBytesOf(resultBytes(r));
    case "bytes_addr":
      return `(${pyBytesOf(resultBytes(r))}, ${r.addr === undefined ? "None" : pyAddr(r.addr)})`;
    case "n":
      return String(r.n);
    case "accepted":
      return `(<socket ${r.sock}>, ${pyAddr(r.peer)})`;
    case "local":
      return pyAddr(r.local);
    case "peer":
      return pyAddr(r.peer);
    case "value":
      return typeof r.value === "object" ? `(${r.value.onoff}, ${r.value.linger})` : String(r.value);
    case "timeout":
      return r.mode === "blocking" ? "None" : pyFloat(r.timeout);
    case "host":
      return pyStr(r.addr);
    case "addrinfo":
      return "[" + (r.addrinfo || []).map((x) => `(${ENUMS[x.family]}, ${ENUMS[x.type]}, ${x.proto}, '', ${pyAddr(x.addr)})`).join(", ") + "]";
    case "select":
      return `(${pyList(r.rlist)}, ${pyList(r.wlist)}, ${pyList(r.xlist)})`;
    default:
      return "None";
  }
}
