// Addresses as people write them, for every address box of the page:
// Python's tuples as the tutorials write them (('', 5000),
// ("localhost", 9000), ('::1', 9000, 0, 0)), the host:port of netcat and
// URLs (localhost:9000, :5000, [::1]:9000), "host port", and a path for
// AF_UNIX. parseAddr turns what was typed into the one form the wire
// takes (host:port, [v6]:port, or the path), or says what is wrong with
// it in words a student can act on. How an address reads back as Python
// is ops.js's pyAddr (and sockets/export's PyAddr).

// A host name or IPv4 address, as getaddrinfo takes it; an IPv6 literal
// (in brackets or a tuple) may also hold colons and a %zone.
const HOST = /^[A-Za-z0-9._-]*$/;
const HOST6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]+)?$/;

// Examples, said in the errors: for a server (bind) or a client.
const EXAMPLES = "('', 5000), ('localhost', 9000), localhost:9000, :5000 or [::1]:9000";

// parseAddr reads text as an address for a socket of family ("inet",
// "inet6" or "unix"): {addr} in the wire's form, or {error}.
export function parseAddr(text, family = "inet") {
  const s = String(text ?? "").trim();
  if (family === "unix") return unixPath(s);
  if (s === "") return { error: `the address is empty: type one, e.g. ${EXAMPLES}` };
  if (s.startsWith("(")) return tuple(s);
  if (s.startsWith("/") || s.startsWith("./")) return { error: `${s} is a path, an AF_UNIX address; this socket is ${family === "inet6" ? "AF_INET6" : "AF_INET"}: give a host and a port, e.g. ${EXAMPLES}` };
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(s);
  if (url) return { error: `${s} is a URL: a socket takes a host and a port, e.g. ${url[1] || "localhost:80"}${url[1] && !/:\d+$/.test(url[1]) ? ":80" : ""}` };
  let m;
  // [v6]:port, as in URLs.
  if ((m = /^\[([^\]]*)\]\s*:\s*(\S*)$/.exec(s))) return hostPort(m[1], m[2], true);
  // 'host':port and "host":port: a Python string, then a port.
  if ((m = /^('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*:\s*(\S*)$/.exec(s))) {
    const h = pyString(m[1]);
    return h.error ? h : hostPort(h.value, m[2], h.value.includes(":"));
  }
  // host port, as netcat takes them.
  if ((m = /^(\S+)\s+(\d+)$/.exec(s))) return hostPort(m[1], m[2], m[1].includes(":"));
  if (/^\d+$/.test(s)) return { error: `${s} is only a port: give a host too, ('', ${s}) or :${s} for every address (a server), localhost:${s} to connect` };
  const i = s.lastIndexOf(":");
  if (i < 0) return { error: `"${s}" has no port: write host:port or (host, port), e.g. ${EXAMPLES}` };
  const host = s.slice(0, i);
  if (host.includes(":")) return { error: `write an IPv6 address in brackets before its port: [${host}]:${s.slice(i + 1) || "9000"}` };
  return hostPort(host, s.slice(i + 1), false);
}

// tuple reads a Python address tuple: (host, port) or, for IPv6, (host,
// port, flowinfo, scope_id).
function tuple(s) {
  if (!s.endsWith(")")) return { error: `${s}: the tuple has no closing parenthesis` };
  const inner = s.slice(1, -1).trim();
  const q = /^('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s*,\s*(.*?)\s*,?\s*$/s.exec(inner);
  if (!q) {
    const first = inner.split(",")[0].trim();
    if (first && !/^['"]/.test(first)) return { error: `write the host in quotes, as a Python string: ('${first === "HOST" ? "localhost" : first}', ${inner.split(",")[1]?.trim() || "5000"})` };
    return { error: `${s} is no address tuple: write (host, port), e.g. ('', 5000) or ('localhost', 9000)` };
  }
  const h = pyString(q[1]);
  if (h.error) return h;
  const rest = q[2].split(",").map((x) => x.trim());
  if (rest.length !== 1 && rest.length !== 3) return { error: `an address tuple is (host, port), or (host, port, flowinfo, scope_id) for IPv6; ${s} has ${rest.length + 1} items` };
  if (rest.length === 3 && rest.slice(1).some((x) => !/^\d+$/.test(x))) return { error: `flowinfo and scope_id are whole numbers: ${s}` };
  return hostPort(h.value, rest[0], h.value.includes(":") || rest.length === 3);
}

// hostPort checks a host and a port and writes them as the wire does.
function hostPort(host, port, v6) {
  if (port === "") return { error: `the port is missing after "${host}": e.g. ${host.includes(":") ? `[${host}]` : host}:9000` };
  if (!/^\d+$/.test(port)) {
    if (/^['"]/.test(port)) return { error: `the port is a number, not a string: ${port} → ${port.slice(1, -1)}` };
    return { error: `the port must be a number from 0 to 65535, not "${port}"` };
  }
  const n = Number(port);
  if (n > 65535) return { error: `the port must be 0-65535, not ${port}` };
  if (v6 ? !HOST6.test(host) && !HOST.test(host) : !HOST.test(host)) {
    return { error: `"${host}" is no host name: use letters, digits, dots and dashes (localhost, 127.0.0.1), '' for every address, or [::1] for IPv6` };
  }
  return { addr: host.includes(":") ? `[${host}]:${n}` : `${host}:${n}` };
}

// unixPath reads an AF_UNIX address: a path, quoted or not.
function unixPath(s) {
  if (s === "") return { error: "the address is empty: an AF_UNIX address is a path, e.g. /tmp/echo.sock or demo.sock" };
  if (/^['"]/.test(s)) {
    const p = pyString(s);
    if (p.error) return p;
    return p.value === "" ? { error: "the path is empty: e.g. /tmp/echo.sock" } : { addr: p.value };
  }
  if (s.startsWith("(")) return { error: `an AF_UNIX address is a path, not a tuple: e.g. '/tmp/echo.sock'` };
  return { addr: s };
}

// pyString reads a Python string literal, with the escapes a path or a
// host name could hold.
function pyString(lit) {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) return { error: `${lit}: the string has no closing ${q}` };
  let out = "";
  const body = lit.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === q) return { error: `${lit}: a ${q} inside the string needs a backslash` };
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    const map = { "\\": "\\", "'": "'", '"': '"', n: "\n", t: "\t", r: "\r", 0: "\0" };
    if (!(e in map)) return { error: `${lit}: unknown escape \\${e ?? ""}` };
    out += map[e];
  }
  return { value: out };
}
