// sockplay's page: one WebSocket to the session, sockets as cards, every
// event as a row. The server is the source of truth: events come in seq
// order and "state" messages say what each socket is now.

import { parseEscaped, parseHex, pyBytes, hexBytes, fromB64, toB64 } from "./bytes.js";

const app = document.getElementById("app");
const sessionId = app.dataset.session;
const connEl = document.getElementById("conn");
const logBody = document.getElementById("log-body");
const logScroll = document.querySelector(".log-scroll");
const logCount = document.getElementById("log-count");
const socketsEl = document.getElementById("sockets");

const labs = Array.from(document.querySelectorAll(".lab-connect"), (b) => ({ name: b.dataset.lab, addr: b.dataset.addr }));
const defaultAddr = (labs.find((l) => l.name === "echo") || labs[0] || { addr: "127.0.0.1:7007" }).addr;

let ws = null;
let lastSeq = 0;
let nextId = 1;
let ended = false;
let retryMs = 500;
const waiting = new Map(); // op id -> {resolve, reject}
const cards = new Map(); // socket id -> card elements
let pending = [];
let serverOffset = 0; // performance.now() µs minus the session clock

// ---- connection ---------------------------------------------------------

function setConn(text, cls) {
  connEl.textContent = text;
  connEl.className = "conn " + cls;
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(`${proto}//${location.host}/api/sessions/${sessionId}/ws?since=${lastSeq}`);
  ws.onopen = () => {
    setConn("live", "live");
    retryMs = 500;
  };
  ws.onmessage = (m) => onMessage(JSON.parse(m.data));
  ws.onclose = () => {
    for (const w of waiting.values()) w.reject(new Error("connection lost"));
    waiting.clear();
    if (ended) return;
    setConn("reconnecting…", "down");
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  };
}

function onMessage(m) {
  switch (m.type) {
    case undefined:
      onEvent(m);
      return;
    case "hello":
      return;
    case "state":
      onState(m);
      return;
    case "error":
      settle(m.reply, null, new Error(m.error.msg));
      flash(m.error.msg);
      return;
    case "gap": {
      // Older events left the server's memory (its event-log limit).
      const tr = el("tr", "gap");
      const td = el("td", "", `events ${m.from}–${m.to} were dropped from the server's memory (event-log limit)`);
      td.colSpan = 7;
      tr.append(td);
      logBody.append(tr);
      lastSeq = Math.max(lastSeq, m.to);
      return;
    }
    case "ended":
      ended = true;
      onState(m);
      setConn("session ended", "down");
      return;
  }
}

// sendOp sends one op and resolves with its event (ok or not); it rejects
// only when the op could not be sent or was malformed.
function sendOp(op) {
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    flash("not connected to the session; reconnecting…");
    return Promise.reject(new Error("not connected"));
  }
  const id = nextId++;
  ws.send(JSON.stringify({ id, ...op }));
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

function settle(id, ev, err) {
  const w = waiting.get(id);
  if (!w) return;
  waiting.delete(id);
  if (err) w.reject(err);
  else w.resolve(ev);
}

let flashTimer = 0;
function flash(msg) {
  let el = document.getElementById("flash");
  if (!el) {
    el = document.createElement("div");
    el.id = "flash";
    el.setAttribute("role", "alert");
    document.body.append(el);
  }
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (el.hidden = true), 6000);
}

// ---- events -------------------------------------------------------------

function onEvent(ev) {
  if (ev.seq <= lastSeq) return; // already shown (a resumed stream)
  lastSeq = ev.seq;
  if (ev.reply !== undefined) settle(ev.reply, ev, null);
  const atBottom = logScroll.scrollHeight - logScroll.scrollTop - logScroll.clientHeight < 40;
  logBody.append(eventRow(ev));
  logCount.textContent = `(${lastSeq})`;
  if (atBottom) logScroll.scrollTop = logScroll.scrollHeight;
  renderPending();
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmtT = (us) => (us / 1e6).toFixed(6);

function argData(ev) {
  return ev.args && ev.args.data ? fromB64(ev.args.data.b64) : null;
}

// callText writes the op as the Python call that makes it.
function callText(op, args) {
  args = args || {};
  const addr = (a) => {
    const m = /^\[?(.*?)\]?:(\d+)$/.exec(a || "");
    return m ? `('${m[1]}', ${m[2]})` : JSON.stringify(a);
  };
  const data = args.data ? pyBytes(fromB64(args.data.b64)) : "";
  switch (op) {
    case "socket":
      return `socket(${args.family === "inet6" ? "AF_INET6" : "AF_INET"}, ${args.type === "dgram" ? "SOCK_DGRAM" : "SOCK_STREAM"})`;
    case "connect":
      return `connect(${addr(args.addr)})`;
    case "recv":
      return `recv(${args.bufsize})`;
    case "send":
    case "sendall":
      return `${op}(${shorten(data, 40)})`;
    case "sendchunks":
      return `sendchunks(${shorten(data)}, chunk=${args.chunk}, delay=${args.delay || 0})`;
    case "settimeout":
      return `settimeout(${args.timeout === null ? "None" : args.timeout})`;
    case "setblocking":
      return `setblocking(${args.flag ? "True" : "False"})`;
    case "shutdown":
      return `shutdown(${args.how})`;
    case "autorecv":
      return args.on === false ? "autorecv(off)" : `autorecv(${args.bufsize || 4096})`;
    default:
      return `${op}()`;
  }
}

function shorten(s, n = 60) {
  return s.length > n ? s.slice(0, n) + "…" : s;
}

// resultText is what the call returned, in Python's terms; the bytes
// themselves are in the data and hex columns.
function resultText(ev) {
  if (!ev.ok) {
    const e = ev.error;
    const sent = ev.result && ev.result.n !== undefined ? ` (${ev.result.n} bytes were sent before it)` : "";
    return (e.errno ? `${e.exc}: [Errno ${e.num}] ${e.msg}` : `${e.exc}: ${e.msg}`) + sent;
  }
  const r = ev.result || {};
  switch (ev.op) {
    case "recv":
      if (r.eof) return "b'' — EOF: the peer closed its side";
      if (r.note) return r.note;
      return `${r.n} byte${r.n === 1 ? "" : "s"}`;
    case "send": {
      const want = (argData(ev) || []).length;
      return r.n < want ? `${r.n} — partial: ${want - r.n} of ${want} bytes not sent` : `${r.n}`;
    }
    case "sendall":
      return "None (all sent)";
    case "sendchunks":
      return `${r.n} bytes in chunks`;
    case "socket":
      return `${r.sock}`;
    case "connect":
      return `None (from ${r.local})`;
    case "getsockname":
      return r.local;
    case "getpeername":
      return r.peer;
    case "settimeout":
    case "setblocking":
    case "gettimeout":
      return r.mode === "timeout" ? `None · timeout ${r.timeout} s` : `None · ${r.mode}`;
    case "autorecv":
      return r.on ? `on, bufsize ${r.bufsize}` : "off";
    default:
      return "None";
  }
}

// dataCell shows the bytes as escaped text over their hex, each on one
// line so a boundary is never hidden by wrapping; long data is cut short
// here and whole in the tooltip.
function dataCell(bytes) {
  const td = el("td", "data");
  if (!bytes) return td;
  const line = (cls, fmt, max) => {
    const d = el("div", cls, fmt(bytes.length > max ? bytes.subarray(0, max) : bytes));
    if (bytes.length > max) d.append(el("span", "more", ` …+${bytes.length - max}`));
    return d;
  };
  td.append(line("text", pyBytes, 48), line("hex", hexBytes, 24));
  if (bytes.length > 24) td.title = pyBytes(bytes.subarray(0, 4096)) + (bytes.length > 4096 ? " …" : "");
  return td;
}

function eventRow(ev) {
  const tr = el("tr", `ev ev-${ev.op}${ev.ok ? "" : " err"}${ev.auto ? " auto" : ""}${ev.result && ev.result.eof ? " eof" : ""}`);
  tr.dataset.seq = ev.seq;
  tr.dataset.sock = ev.sock || "";
  const bytes = ev.op === "recv" && ev.ok ? fromB64(ev.result.b64) : argData(ev);
  let size = "";
  if (ev.result && ev.result.n !== undefined) size = String(ev.result.n);
  const dur = ev.t - ev.start;
  const call = el("td", "call", (ev.auto ? "⟳ " : "") + callText(ev.op, ev.args));
  if (dur >= 50000) call.append(el("span", "dur", ` ${(dur / 1e6).toFixed(3)} s`));
  tr.append(
    el("td", "seq", String(ev.seq)),
    el("td", "t", fmtT(ev.t)),
    el("td", "sock", ev.sock || ""),
    call,
    el("td", "result", resultText(ev)),
    el("td", "size", size),
    dataCell(bytes),
  );
  if (!ev.ok) tr.title = `${ev.error.exc}${ev.error.errno ? " " + ev.error.errno : ""}`;
  return tr;
}

// ---- state and socket cards ----------------------------------------------

function onState(st) {
  pending = st.pending || [];
  if (st.now !== undefined) serverOffset = performance.now() * 1000 - st.now;
  for (const s of st.sockets || []) {
    let card = cards.get(s.id);
    if (!card) {
      card = makeCard(s.id);
      cards.set(s.id, card);
      socketsEl.append(card.root);
    }
    updateCard(card, s);
  }
  renderPending();
}

function renderPending() {
  const now = performance.now() * 1000 - serverOffset;
  for (const [id, card] of cards) {
    const mine = pending.filter((p) => p.sock === id);
    card.pending.replaceChildren(
      ...mine.map((p) => el("li", "pending-call", `${callText(p.op, p.args)} … pending ${Math.max(0, (now - p.start) / 1e6).toFixed(1)} s`)),
    );
    card.pending.hidden = mine.length === 0;
  }
}

function field(label, input) {
  const l = el("label");
  l.append(label + " ", input);
  return l;
}

function button(text, cls, onclick, title) {
  const b = el("button", cls, text);
  b.type = "button";
  if (title) b.title = title;
  b.addEventListener("click", onclick);
  return b;
}

function input(cls, attrs) {
  const i = el("input", cls);
  Object.assign(i, attrs);
  return i;
}

function makeCard(id) {
  const root = el("article", "sock-card");
  root.id = "sock-" + id;
  root.setAttribute("aria-label", "socket " + id);
  const title = el("h3", "sock-title");
  const name = el("span", "sock-id", id);
  const kind = el("span", "sock-kind");
  const status = el("span", "sock-state");
  const addrs = el("span", "sock-addrs");
  const mode = el("span", "sock-mode");
  title.append(name, kind, status, addrs, mode);

  const run = (op) => sendOp({ sock: id, ...op }).catch(() => {});

  // connect
  const addr = input("connect-addr", { value: defaultAddr, placeholder: "host:port", size: 22 });
  addr.setAttribute("aria-label", `address for ${id}.connect`);
  const connectRow = el("div", "row");
  connectRow.append(
    field("address", addr),
    button("connect", "connect", () => run({ op: "connect", addr: addr.value.trim() })),
    button("getsockname", "getsockname small", () => run({ op: "getsockname" })),
    button("getpeername", "getpeername small", () => run({ op: "getpeername" })),
  );

  // send
  const data = input("send-data", { placeholder: "hello\\r\\n — escapes: \\r \\n \\t \\xNN", size: 36 });
  data.setAttribute("aria-label", `data for ${id}.send`);
  const encSel = el("select", "send-enc");
  encSel.setAttribute("aria-label", "data encoding");
  encSel.append(new Option("text + escapes", "text"), new Option("hex", "hex"));
  const bytesOf = () => {
    try {
      return encSel.value === "hex" ? parseHex(data.value) : parseEscaped(data.value);
    } catch (e) {
      flash(e.message);
      data.setAttribute("aria-invalid", "true");
      return null;
    }
  };
  const doSend = (op) => {
    const b = bytesOf();
    if (b === null) return;
    data.removeAttribute("aria-invalid");
    run({ op, data: { b64: toB64(b) } });
  };
  data.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      doSend(e.shiftKey ? "sendall" : "send");
    }
  });
  const sendRow = el("div", "row");
  sendRow.append(
    field("data", data),
    encSel,
    button("send", "send", () => doSend("send"), "one send() syscall: shows how many bytes it accepted (Enter)"),
    button("sendall", "sendall", () => doSend("sendall"), "send until every byte is queued (Shift+Enter)"),
  );

  // recv
  const bufsize = input("recv-bufsize", { type: "number", min: 0, value: 1024, size: 6 });
  bufsize.setAttribute("aria-label", `bufsize for ${id}.recv`);
  const autoChk = input("auto-on", { type: "checkbox" });
  const autoSize = input("auto-bufsize", { type: "number", min: 1, value: 4096, size: 6 });
  autoSize.setAttribute("aria-label", "auto-recv bufsize");
  autoChk.addEventListener("change", () =>
    run({ op: "autorecv", on: autoChk.checked, ...(autoChk.checked ? { bufsize: Number(autoSize.value) } : {}) }),
  );
  const recvRow = el("div", "row");
  recvRow.append(
    field("bufsize", bufsize),
    button("recv", "recv", () => run({ op: "recv", bufsize: Number(bufsize.value) }), "one recv(bufsize) syscall"),
    field("auto-recv", autoChk),
    field("bufsize", autoSize),
  );

  // mode
  const tmo = input("timeout", { placeholder: "None, 2.5 or 0", size: 10 });
  tmo.setAttribute("aria-label", `timeout for ${id}.settimeout`);
  const modeRow = el("div", "row");
  modeRow.append(
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

  // end
  const endRow = el("div", "row");
  endRow.append(
    button("shutdown(SHUT_WR)", "shutdown-wr", () => run({ op: "shutdown", how: "SHUT_WR" }), "half-close: the peer reads EOF, you can still recv"),
    button("shutdown(SHUT_RD)", "shutdown-rd small", () => run({ op: "shutdown", how: "SHUT_RD" })),
    button("shutdown(SHUT_RDWR)", "shutdown-rdwr small", () => run({ op: "shutdown", how: "SHUT_RDWR" })),
    button("close", "close danger", () => run({ op: "close" })),
  );

  const paused = el("p", "paused", "auto-recv paused: the page is behind, so the data waits in the kernel's receive queue");
  paused.hidden = true;
  const pendingList = el("ul", "pending");
  pendingList.hidden = true;
  root.append(title, paused, pendingList, connectRow, sendRow, recvRow, modeRow, endRow);
  return { root, kind, status, addrs, mode, autoChk, autoSize, paused, pending: pendingList, connectRow };
}

function updateCard(card, s) {
  card.kind.textContent = `${s.family === "inet6" ? "AF_INET6" : "AF_INET"} ${s.type === "dgram" ? "SOCK_DGRAM" : "SOCK_STREAM"}`;
  let st = s.state;
  if (s.eof) st += " · peer sent EOF";
  if (s.shut) st += ` · ${s.shut}`;
  card.status.textContent = st;
  card.status.className = "sock-state st-" + s.state;
  card.addrs.textContent = s.peer ? `${s.local} → ${s.peer}` : s.local || "";
  card.mode.textContent = s.mode === "timeout" ? `timeout ${s.timeout} s` : s.mode;
  card.autoChk.checked = !!s.autorecv;
  card.paused.hidden = !s.paused;
  if (s.autorecv) card.autoSize.value = s.autorecv;
  const closed = s.state === "closed";
  card.root.classList.toggle("closed", closed);
  for (const b of card.root.querySelectorAll("button, input, select")) b.disabled = closed;
}

// ---- page controls -------------------------------------------------------

document.getElementById("new-socket").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  sendOp({ op: "socket", family: f.get("family"), type: f.get("type") }).catch(() => {});
});

for (const b of document.querySelectorAll(".lab-connect")) {
  b.addEventListener("click", async () => {
    try {
      const ev = await sendOp({ op: "socket", family: b.dataset.addr.startsWith("[") ? "inet6" : "inet" });
      if (!ev.ok) return;
      const sock = ev.result.sock;
      await sendOp({ op: "connect", sock, addr: b.dataset.addr });
      const card = cards.get(sock);
      if (card) card.connectRow.querySelector(".connect-addr").value = b.dataset.addr;
    } catch {
      /* shown by flash */
    }
  });
}

setInterval(renderPending, 1000);
connect();
