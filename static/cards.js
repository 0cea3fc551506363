// Socket cards: one per socket, with the calls that fit its kind and
// gauges of what the kernel holds for it.

import { parseEscaped, parseHex, toB64 } from "./bytes.js";
import { el } from "./dom.js";
import { fmt } from "./format.js";
import { FAMILIES, TYPES } from "./ops.js";

// Options the engine knows, as Python spells them, grouped by level.
const OPTIONS = [
  ["SOL_SOCKET", ["SO_RCVBUF", "SO_SNDBUF", "SO_REUSEADDR", "SO_REUSEPORT", "SO_KEEPALIVE", "SO_LINGER", "SO_BROADCAST", "SO_RCVLOWAT", "SO_ERROR", "SO_TYPE", "SO_ACCEPTCONN"]],
  ["IPPROTO_TCP", ["TCP_NODELAY", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT", "TCP_MAXSEG"]],
  ["IPPROTO_IP", ["IP_TTL", "IP_TOS"]],
  ["IPPROTO_IPV6", ["IPV6_V6ONLY", "IPV6_UNICAST_HOPS"]],
];

function field(label, control) {
  const l = el("label");
  l.append(label + " ", control);
  return l;
}

function button(text, cls, onclick, title) {
  const b = el("button", cls, text);
  b.type = "button";
  if (title) b.title = title;
  b.addEventListener("click", onclick);
  return b;
}

function input(cls, attrs, label) {
  const i = el("input", cls);
  Object.assign(i, attrs);
  if (label) i.setAttribute("aria-label", label);
  return i;
}

function row(...children) {
  const r = el("div", "row");
  r.append(...children);
  return r;
}

// gauge is a labelled bar: value against a limit.
function gauge(name, title) {
  const root = el("div", "gauge gauge-" + name);
  root.title = title;
  const bar = el("div", "bar");
  const fill = el("div", "fill");
  bar.append(fill);
  bar.setAttribute("role", "meter");
  bar.setAttribute("aria-label", name);
  const val = el("span", "val");
  root.append(el("span", "glabel", name), bar, val);
  return {
    root,
    set(v, limit) {
      const pct = limit > 0 ? Math.min(100, (100 * v) / limit) : 0;
      // A few bytes in a large buffer still show, as a sliver.
      fill.style.width = v > 0 ? `max(3px, ${pct}%)` : "0";
      fill.classList.toggle("full", pct >= 90);
      bar.setAttribute("aria-valuenow", v);
      bar.setAttribute("aria-valuemax", limit);
      val.textContent = `${fmt(v)} / ${fmt(limit)}`;
    },
  };
}

// makeCard builds the card for socket s. run(op) sends an op for it;
// flash(msg) reports a mistake in the user's input.
export function makeCard(s, { run, flash, defaultAddr }) {
  // intOf reads a whole number from a number box, or says what is wrong
  // with it (a box holding "abc" reads as "", which Number() takes for 0).
  const intOf = (box, what) => {
    const v = box.value.trim();
    if (v === "" || box.validity.badInput || !Number.isInteger(Number(v))) {
      flash(`${what} must be a whole number${v ? `, not "${v}"` : ""}`);
      box.setAttribute("aria-invalid", "true");
      return null;
    }
    box.removeAttribute("aria-invalid");
    return Number(v);
  };
  // withInt runs the op made from box's number, if it is one.
  const withInt = (box, what, op) => () => {
    const n = intOf(box, what);
    if (n !== null) run(op(n));
  };
  const id = s.id;
  const stream = s.type === "stream";
  const root = el("article", "sock-card");
  root.id = "sock-" + id;
  root.setAttribute("aria-label", "socket " + id);
  const title = el("h3", "sock-title");
  const parts = {
    kind: el("span", "sock-kind"),
    status: el("span", "sock-state"),
    addrs: el("span", "sock-addrs"),
    link: el("span", "sock-link"),
    mode: el("span", "sock-mode"),
  };
  title.append(el("span", "sock-id", id), parts.kind, parts.status, parts.addrs, parts.link, parts.mode);

  // The kernel's view.
  const gauges = el("div", "gauges");
  const recvq = gauge("recv-Q", "bytes received by the kernel and not yet read by recv (SIOCINQ), against SO_RCVBUF");
  const sendq = gauge("send-Q", "bytes sent and not yet acknowledged (SIOCOUTQ), against SO_SNDBUF");
  const acceptq = gauge("accept-Q", "connections waiting for accept(), against the backlog");
  const tcp = el("span", "tcpinfo");
  gauges.append(recvq.root, sendq.root, acceptq.root, tcp);
  acceptq.root.hidden = true;

  // Addresses: connect, bind, and for streams listen/accept.
  const addr = input("addr", { value: s.family === "unix" ? "demo.sock" : defaultAddr, placeholder: s.family === "unix" ? "demo.sock" : "host:port", size: 20 }, `address for ${id}`);
  const addrRow = row(
    field("address", addr),
    button("connect", "connect not-listening", () => run({ op: "connect", addr: addr.value.trim() })),
    button("bind", "bind small unconnected", () => run({ op: "bind", addr: addr.value.trim() }), "bind to this address (port 0: any free port)"),
  );
  let autoAcc = null;
  if (stream) {
    const backlog = input("backlog", { type: "number", min: 0, value: 5 }, "backlog");
    autoAcc = input("autoaccept-on", { type: "checkbox" }, "autoaccept");
    autoAcc.addEventListener("change", () => run({ op: "autoaccept", on: autoAcc.checked }));
    const server = el("span", "server-calls unconnected");
    server.append(
      button("listen", "listen small", withInt(backlog, "backlog", (n) => ({ op: "listen", backlog: n }))),
      field("backlog", backlog),
      button("accept", "accept small", () => run({ op: "accept" }), "accept one connection (pending until a client arrives)"),
      field("auto-accept", autoAcc),
    );
    addrRow.append(server);
  }

  // Data to send.
  const data = input("send-data", { placeholder: "hello\\r\\n — escapes: \\r \\n \\t \\xNN", size: 30 }, `data for ${id}`);
  const encSel = el("select", "send-enc");
  encSel.setAttribute("aria-label", "data encoding");
  encSel.append(new Option("text + escapes", "text"), new Option("hex", "hex"));
  const bytesOf = () => {
    try {
      const b = encSel.value === "hex" ? parseHex(data.value) : parseEscaped(data.value);
      data.removeAttribute("aria-invalid");
      return b;
    } catch (e) {
      flash(e.message);
      data.setAttribute("aria-invalid", "true");
      return null;
    }
  };
  const doSend = (op, extra) => {
    const b = bytesOf();
    if (b !== null) run({ op, data: { b64: toB64(b) }, ...extra });
  };
  data.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      doSend(e.shiftKey ? "sendall" : "send");
    }
  });
  const sendRow = row(field("data", data), encSel, button("send", "send", () => doSend("send"), "one send() syscall: shows how many bytes it accepted (Enter)"));
  if (stream) {
    sendRow.append(button("sendall", "sendall", () => doSend("sendall"), "send until every byte is queued (Shift+Enter)"));
  } else {
    const to = input("sendto-addr", { placeholder: s.family === "unix" ? "peer.sock" : "host:port", size: 16 }, `destination for ${id}.sendto`);
    sendRow.append(field("to", to), button("sendto", "sendto", () => doSend("sendto", { addr: to.value.trim() })));
  }

  // Receiving.
  const bufsize = input("recv-bufsize", { type: "number", min: 0, value: 1024 }, `bufsize for ${id}.recv`);
  const autoChk = input("auto-on", { type: "checkbox" }, "auto-recv");
  const autoSize = input("auto-bufsize", { type: "number", min: 1, value: 4096 }, "auto-recv bufsize");
  autoChk.addEventListener("change", () => {
    if (!autoChk.checked) return run({ op: "autorecv", on: false });
    const n = intOf(autoSize, "auto-recv's bufsize");
    if (n === null) autoChk.checked = false;
    else run({ op: "autorecv", on: true, bufsize: n });
  });
  const recvRow = row(field("bufsize", bufsize), button("recv", "recv", withInt(bufsize, "bufsize", (n) => ({ op: "recv", bufsize: n })), "one recv(bufsize) syscall"));
  if (!stream) recvRow.append(button("recvfrom", "recvfrom", withInt(bufsize, "bufsize", (n) => ({ op: "recvfrom", bufsize: n })), "one datagram, and who sent it"));
  recvRow.append(field("auto-recv", autoChk), field("bufsize", autoSize));

  // Mode.
  const tmo = input("timeout", { placeholder: "None, 2.5 or 0", size: 8 }, `timeout for ${id}.settimeout`);
  const modeRow = row(
    field("timeout", tmo),
    button("settimeout", "settimeout", () => {
      const v = tmo.value.trim();
      if (v === "" || v.toLowerCase() === "none" || v.toLowerCase() === "null") return run({ op: "settimeout", timeout: null });
      const n = Number(v);
      if (!Number.isFinite(n)) return flash(`timeout must be None or a number of seconds, not "${v}"`);
      run({ op: "settimeout", timeout: n });
    }),
    button("setblocking(True)", "setblocking-true small", () => run({ op: "setblocking", flag: true })),
    button("setblocking(False)", "setblocking-false small", () => run({ op: "setblocking", flag: false })),
  );

  // Options.
  const optSel = el("select", "opt-name");
  optSel.setAttribute("aria-label", "socket option");
  for (const [level, names] of OPTIONS) {
    const g = el("optgroup");
    g.label = level;
    for (const n of names) g.append(new Option(n, `${level} ${n}`));
    optSel.append(g);
  }
  const optVal = input("opt-value", { placeholder: '1, true, or {"onoff":1,"linger":0}', size: 14 }, "option value");
  const opt = () => {
    const [level, name] = optSel.value.split(" ");
    return { level, name };
  };
  const optRow = row(
    optSel,
    field("value", optVal),
    button("setsockopt", "setsockopt small", () => {
      let value;
      try {
        value = JSON.parse(optVal.value.trim());
      } catch {
        return flash(`the option value must be JSON: a number, true/false, or {"onoff": 1, "linger": 0}`);
      }
      run({ op: "setsockopt", ...opt(), value });
    }),
    button("getsockopt", "getsockopt small", () => run({ op: "getsockopt", ...opt() })),
  );

  // Names and endings.
  optRow.append(
    button("getsockname", "getsockname small", () => run({ op: "getsockname" })),
    button("getpeername", "getpeername small", () => run({ op: "getpeername" })),
  );
  const endRow = row(
    button("shutdown(SHUT_WR)", "shutdown-wr", () => run({ op: "shutdown", how: "SHUT_WR" }), "half-close: the peer reads EOF, you can still recv"),
    button("SHUT_RD", "shutdown-rd small", () => run({ op: "shutdown", how: "SHUT_RD" }), "shutdown(SHUT_RD)"),
    button("SHUT_RDWR", "shutdown-rdwr small", () => run({ op: "shutdown", how: "SHUT_RDWR" }), "shutdown(SHUT_RDWR)"),
    button("close", "close danger", () => run({ op: "close" })),
  );

  const paused = el("p", "paused", "auto-recv paused: the page is behind, so the data waits in the kernel's receive queue");
  paused.hidden = true;
  const pending = el("ul", "pending");
  pending.hidden = true;
  sendRow.classList.add("not-listening");
  recvRow.classList.add("not-listening");
  const more = el("details", "more");
  more.append(el("summary", "", "options and names"), optRow);
  endRow.prepend(more);
  root.append(title, gauges, paused, pending, addrRow, sendRow, recvRow, modeRow, endRow);
  return { root, ...parts, gauges: { recvq, sendq, acceptq, tcp }, autoChk, autoSize, autoAcc, paused, pending, addr };
}

export function updateCard(card, s) {
  card.kind.textContent = `${FAMILIES[s.family]} ${TYPES[s.type] || "SOCK_STREAM"}`;
  let st = s.state;
  if (s.eof) st += " · peer sent EOF";
  if (s.shut) st += ` · ${s.shut}`;
  card.status.textContent = st;
  card.status.className = "sock-state st-" + s.state;
  card.addrs.textContent = s.peer ? `${s.local || "?"} → ${s.peer}` : s.local || "";
  card.link.textContent = s.link ? `↔ ${s.link}` : "";
  card.link.title = s.link ? `the other end of this connection is ${s.link}` : "";
  card.mode.textContent = s.mode === "timeout" ? `timeout ${s.timeout} s` : s.mode;
  card.autoChk.checked = !!s.autorecv;
  if (s.autorecv) card.autoSize.value = s.autorecv;
  if (card.autoAcc) card.autoAcc.checked = !!s.autoaccept;
  card.paused.hidden = !s.paused;
  if (s.stats) updateGauges(card, s.stats);
  const closed = s.state === "closed";
  // Show the calls that fit the socket now: no listen on a connected
  // socket, no send on a listener.
  card.root.dataset.state = s.state;
  card.root.classList.toggle("closed", closed);
  card.gauges.recvq.root.parentElement.hidden = closed;
  for (const b of card.root.querySelectorAll("button, input, select")) b.disabled = closed;
}

export function updateGauges(card, st) {
  const g = card.gauges;
  const listener = st.acceptq !== undefined;
  g.acceptq.root.hidden = !listener;
  g.recvq.root.hidden = listener;
  g.sendq.root.hidden = listener;
  if (listener) g.acceptq.set(st.acceptq, st.backlog);
  else {
    g.recvq.set(st.recvq, st.rcvbuf);
    g.sendq.set(st.sendq, st.sndbuf);
  }
  const t = [];
  if (st.tcp_state) t.push(st.tcp_state);
  if (st.rtt_us) t.push(`rtt ${(st.rtt_us / 1000).toFixed(2)} ms`);
  if (st.cwnd) t.push(`cwnd ${st.cwnd}`);
  if (st.retrans) t.push(`retrans ${st.retrans}`);
  g.tcp.textContent = t.join(" · ");
}
