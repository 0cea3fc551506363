// sockplay's page: one WebSocket to the session, sockets as cards, every
// event as a row, and a netstat view of the kernel's side. The server is
// the source of truth: events come in seq order and "state" messages say
// what each socket is now.

import { pyBytes, hexBytes, fromB64 } from "./bytes.js";
import { callText, resultText, pyCall, pyRepr } from "./pyview.js";
import { el, makeCard, updateCard, updateGauges } from "./cards.js";
import { initLessons } from "./lessons.js";

const app = document.getElementById("app");
const sessionId = app.dataset.session;
const connEl = document.getElementById("conn");
const logBody = document.getElementById("log-body");
const logScroll = document.querySelector(".log-scroll");
const logCount = document.getElementById("log-count");
const socketsEl = document.getElementById("sockets");
const netstatBody = document.getElementById("netstat-body");
const showStats = document.getElementById("show-stats");

const labs = Array.from(document.querySelectorAll(".lab-connect"), (b) => ({ name: b.dataset.lab, addr: b.dataset.addr }));
const defaultAddr = (labs.find((l) => l.name === "echo") || labs[0] || { addr: "127.0.0.1:7007" }).addr;

let ws = null;
let lastSeq = 0;
let nextId = 1;
let ended = false;
let retryMs = 500;
const waiting = new Map(); // op id -> {resolve, reject}
const cards = new Map(); // socket id -> card
let sockets = [];
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
  let f = document.getElementById("flash");
  if (!f) {
    f = el("div");
    f.id = "flash";
    f.setAttribute("role", "alert");
    document.body.append(f);
  }
  f.textContent = msg;
  f.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (f.hidden = true), 6000);
}

// ---- events -------------------------------------------------------------

function onEvent(ev) {
  if (ev.seq <= lastSeq) return; // already shown (a resumed stream)
  lastSeq = ev.seq;
  if (ev.reply !== undefined) settle(ev.reply, ev, null);
  if (ev.op === "stats") {
    const card = cards.get(ev.sock);
    if (card) updateGauges(card, ev.result.stats);
    const s = sockets.find((x) => x.id === ev.sock);
    if (s) {
      s.stats = ev.result.stats;
      renderNetstat();
    }
  }
  const atBottom = logScroll.scrollHeight - logScroll.scrollTop - logScroll.clientHeight < 40;
  logBody.append(eventRow(ev));
  logCount.textContent = `(${lastSeq})`;
  if (atBottom) logScroll.scrollTop = logScroll.scrollHeight;
  renderPending();
}

// argData is the bytes an op sent, its repeat included (the data cell
// shows only the start of them).
function argData(ev) {
  if (!ev.args || !ev.args.data) return null;
  const unit = fromB64(ev.args.data.b64);
  const n = ev.args.data.repeat;
  if (n === undefined) return unit;
  const out = new Uint8Array(unit.length * Math.min(n, Math.ceil(4096 / Math.max(unit.length, 1))));
  for (let i = 0; i < out.length; i += unit.length) out.set(unit.subarray(0, out.length - i), i);
  return out;
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

const fmtT = (us) => (us / 1e6).toFixed(6);

function eventRow(ev) {
  const r = ev.result || {};
  const tr = el("tr", `ev ev-${ev.op}${ev.ok ? "" : " err"}${ev.auto ? " auto" : ""}${r.eof ? " eof" : ""}${r.truncated ? " truncated" : ""}`);
  tr.dataset.seq = ev.seq;
  tr.dataset.sock = ev.sock || "";
  const received = (ev.op === "recv" || ev.op === "recvfrom" || ev.op === "recvall") && ev.ok;
  const bytes = received ? fromB64(r.b64) : argData(ev);
  const size = r.n !== undefined ? String(r.n) : "";
  const dur = ev.t - ev.start;
  // Both views are in the row; the Python view shows the call as typed at
  // Python's prompt and the result as Python prints it.
  const call = el("td", "call");
  call.append(el("span", "human", (ev.auto ? "⟳ " : "") + callText(ev.op, ev.args)), el("span", "py", ">>> " + pyCall(ev)));
  if (dur >= 50000) call.append(el("span", "dur", ` ${(dur / 1e6).toFixed(3)} s`));
  const result = el("td", "result");
  result.append(el("span", "human", resultText(ev)), el("span", "py", pyRepr(ev)));
  tr.append(el("td", "seq", String(ev.seq)), el("td", "t", fmtT(ev.t)), el("td", "sock", ev.sock || ""), call, result, el("td", "size", size), dataCell(bytes));
  if (!ev.ok) tr.title = `${ev.error.exc}${ev.error.errno ? " " + ev.error.errno : ""}`;
  return tr;
}

// ---- state, cards and netstat ------------------------------------------

function onState(st) {
  pending = st.pending || [];
  sockets = st.sockets || [];
  if (st.now !== undefined) serverOffset = performance.now() * 1000 - st.now;
  for (const s of sockets) {
    let card = cards.get(s.id);
    if (!card) {
      card = makeCard(s, { run: (op) => sendOp({ sock: s.id, ...op }).catch(() => {}), flash, defaultAddr });
      cards.set(s.id, card);
      socketsEl.append(card.root);
    }
    updateCard(card, s);
  }
  renderNetstat();
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

function kindOf(s) {
  if (s.family === "unix") return s.type === "dgram" ? "unix-dgram" : "unix-stream";
  return (s.type === "dgram" ? "udp" : "tcp") + (s.family === "inet6" ? "6" : "");
}

// renderNetstat draws the session's sockets as netstat would, with the
// kernel's queues and TCP state.
function renderNetstat() {
  netstatBody.replaceChildren(
    ...sockets.map((s) => {
      const st = s.stats || {};
      const listener = st.acceptq !== undefined;
      const tr = el("tr", s.state === "closed" ? "closed" : "");
      tr.dataset.sock = s.id;
      const opts = Object.entries(s.opts || {})
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
        .join(" ");
      let mode = s.mode === "timeout" ? `timeout ${s.timeout}s` : s.mode;
      if (s.autorecv) mode += ` · autorecv ${s.autorecv}`;
      if (s.autoaccept) mode += " · autoaccept";
      tr.append(
        el("td", "ns-id", s.id + (s.link ? ` ↔ ${s.link}` : "")),
        el("td", "ns-kind", kindOf(s)),
        el("td", "ns-local", s.local || ""),
        el("td", "ns-peer", s.peer || (listener ? "*" : "")),
        el("td", "ns-state", st.tcp_state || s.state),
        el("td", "ns-recvq", s.state === "closed" ? "" : listener ? `${st.acceptq}/${st.backlog}` : String(st.recvq ?? "")),
        el("td", "ns-sendq", s.state === "closed" || listener ? "" : String(st.sendq ?? "")),
        el("td", "ns-mode", mode),
        el("td", "ns-opts", opts),
      );
      return tr;
    }),
  );
  document.getElementById("netstat").hidden = sockets.length === 0;
}

// ---- page controls -------------------------------------------------------

document.getElementById("new-socket").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  sendOp({ op: "socket", family: f.get("family"), type: f.get("type") }).catch(() => {});
});

document.getElementById("names").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const host = String(f.get("host")).trim();
  const port = String(f.get("port")).trim();
  const op = e.submitter && e.submitter.value === "gethostbyname" ? { op: "gethostbyname", host } : { op: "getaddrinfo", host, port: port === "" ? null : /^\d+$/.test(port) ? Number(port) : port };
  sendOp(op).catch(() => {});
});

for (const b of document.querySelectorAll(".lab-connect")) {
  b.addEventListener("click", async () => {
    try {
      const ev = await sendOp({ op: "socket", family: b.dataset.addr.startsWith("[") ? "inet6" : "inet", type: b.dataset.proto === "udp" ? "dgram" : "stream" });
      if (!ev.ok) return;
      const sock = ev.result.sock;
      await sendOp({ op: "connect", sock, addr: b.dataset.addr });
      const card = cards.get(sock);
      if (card) card.addr.value = b.dataset.addr;
    } catch {
      /* shown by flash */
    }
  });
}

// Kernel-stats rows are many; they are shown in the gauges and the netstat
// table, and in the log only when asked for.
showStats.addEventListener("change", () => document.getElementById("log").classList.toggle("show-stats", showStats.checked));
const pyView = document.getElementById("python-view");
pyView.addEventListener("change", () => document.getElementById("log").classList.toggle("python", pyView.checked));

// The reference panel's templates fill the send box of the socket used
// last (or the only one).
let currentSock = null;
socketsEl.addEventListener("focusin", (e) => {
  const card = e.target.closest(".sock-card");
  if (card) currentSock = card.id.slice(5);
});
for (const b of document.querySelectorAll(".template")) {
  b.addEventListener("click", () => {
    const id = currentSock || [...cards.keys()].pop();
    const card = id && cards.get(id);
    if (!card) return flash("make a socket first: the template fills its send box");
    const box = card.root.querySelector(".send-data");
    card.root.querySelector(".send-enc").value = "text";
    box.value = b.dataset.text;
    box.focus();
  });
}

initLessons({ sessionId, flash });
setInterval(renderPending, 1000);
connect();
