// sockplay's page: one WebSocket to the session, sockets as cards, every
// event as a row, and a netstat view of the kernel's side. The server is
// the source of truth: events come in seq order and "state" messages say
// what each socket is now.

import { dataOf, detailTitle, pendingText, pyPrompt, pyRepr, resultText } from "./event.js";
import { makeCard, updateCard } from "./cards.js";
import { el } from "./dom.js";
import { initLessons } from "./lessons.js";
import { createLog } from "./log.js";
import { initUI } from "./ui.js";
import { initViews, showData } from "./views.js";
import { decodeBatch } from "./wire.js";
import { initPython } from "./pyui.js";

const app = document.getElementById("app");
const sessionId = app.dataset.session;
// A watch link's page: the same views, read-only, reached by the watch
// token (the session id is what lets its holder run ops).
const watchToken = app.dataset.watch;
const readOnly = !!watchToken;
const connEl = document.getElementById("conn");
const socketsEl = document.getElementById("sockets");
const netstatBody = document.getElementById("netstat-body");
const watchersEl = document.getElementById("watchers");

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
const wantAddr = new Map(); // socket id → address its card's box should show
let serverOffset = 0; // performance.now() µs minus the session clock

// ---- connection ---------------------------------------------------------

function setConn(text, cls) {
  connEl.textContent = text;
  connEl.className = "conn " + cls;
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const path = readOnly ? `/api/watch/${watchToken}/ws` : `/api/sessions/${sessionId}/ws`;
  ws = new WebSocket(`${proto}//${location.host}${path}?since=${lastSeq}&format=bin&pace=16`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    setConn(readOnly ? "live, watching" : "live", "live");
    retryMs = 500;
  };
  // Events come as binary batches; control messages as JSON text.
  ws.onmessage = (m) => {
    if (typeof m.data === "string") {
      onMessage(JSON.parse(m.data));
      return;
    }
    let evs;
    try {
      evs = decodeBatch(m.data);
    } catch (e) {
      // Never go on past a batch that could not be read: its events would
      // be missing in silence. Say so, and resume after the last event
      // shown; a page older than its server cannot, and must be reloaded.
      flash(`could not read the events the server sent: ${e.message}`);
      if (e.reload) {
        ended = true;
        setConn("reload the page", "down");
      }
      ws.close();
      return;
    }
    onEvents(evs);
  };
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
    case "hello":
      return;
    case "state":
      onState(m);
      return;
    case "error":
      settle(m.reply, null, new Error(m.error.msg));
      flash(m.error.msg);
      return;
    case "gap":
      // Older events left the server's memory (its event-log limit).
      log.gap(m.from, m.to);
      lastSeq = Math.max(lastSeq, m.to);
      return;
    case "ended":
      ended = true;
      onState(m);
      setConn(m.end_reason ? `session ended: ${m.end_reason}` : "session ended", "down");
      flash(m.end_reason ? `This session has ended (${m.end_reason}); its sockets are closed.` : "This session has ended; its sockets are closed.");
      return;
  }
}

// sendOp sends one op and resolves with its event (ok or not); it rejects
// only when the op could not be sent or was malformed.
function sendOp(op) {
  if (readOnly) {
    flash("you are watching this session: a watch link is read-only");
    return Promise.reject(new Error("read-only"));
  }
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    flash("not connected to the session; reconnecting…");
    return Promise.reject(new Error("not connected"));
  }
  const id = nextId++;
  ws.send(JSON.stringify({ id, ...op }));
  // A call that failed says so where the eye is, not only in its log row
  // (which a narrow screen cuts short).
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject })).then((ev) => {
    if (!ev.ok) flash(resultText(ev));
    return ev;
  });
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

const log = createLog({ onSelect: showDetail });
window.sockplayLog = log; // for tests and the console
const python = initPython({ readOnly, log, pending: () => pending, flash });

// onEvents takes events in seq order: replies are settled at once, the
// log and the gauges follow on the next frame.
function onEvents(evs) {
  const fresh = [];
  const calls = [];
  for (const ev of evs) {
    if (ev.seq <= lastSeq) continue; // already shown (a resumed stream)
    lastSeq = ev.seq;
    if (ev.reply !== undefined) settle(ev.reply, ev, null);
    if (ev.op === "stats") latestStats.set(ev.sock, ev.result.stats);
    fresh.push(ev);
    // What Python printed and read is the code pane's, not a call.
    if (ev.op !== "python") calls.push(ev);
  }
  if (fresh.length) python.push(fresh);
  if (calls.length) {
    log.push(calls);
    scheduleState();
    views.refresh();
  }
}

// The newest kernel stats per socket, applied once a frame.
const latestStats = new Map();

// showDetail shows one event whole: the call, the result, and its bytes.
function showDetail(ev) {
  const d = document.getElementById("detail");
  d.hidden = false;
  document.getElementById("detail-call").textContent = detailTitle(ev);
  python.reveal(ev);
  document.getElementById("detail-py").textContent = `${pyPrompt(ev)}\n${pyRepr(ev)}`;
  document.getElementById("detail-result").textContent = resultText(ev);
  const bytes = dataOf(ev) || new Uint8Array(0);
  detailBytes = bytes;
  showData(document.getElementById("detail-data"), bytes);
}
let detailBytes = new Uint8Array(0);
for (const id of ["data-mode", "data-encoding"]) {
  document.getElementById(id).addEventListener("change", () => showData(document.getElementById("detail-data"), detailBytes));
}

// ---- state, cards and netstat ------------------------------------------

function onState(st) {
  pending = st.pending || [];
  sockets = st.sockets || [];
  if (st.now !== undefined) serverOffset = performance.now() * 1000 - st.now;
  if (watchersEl) watchersEl.textContent = st.watchers ? `${st.watchers} watching` : "";
  latestStats.clear(); // the snapshot is newer than the stats events before it
  scheduleState();
  python.refresh(); // a pending call shows as its line's wait
}

// scheduleState redraws the cards and the netstat table on the next frame,
// once however many messages came in, and while they keep coming (a fast
// program's calls) at most every STATE_EVERY ms: redrawing them every
// frame kept the main thread busy half the time, slowing the program too.
const STATE_EVERY = 150;
let stateScheduled = false;
let stateDrawn = 0;
function scheduleState() {
  if (stateScheduled) return;
  stateScheduled = true;
  setTimeout(() =>
    requestAnimationFrame(() => {
      stateScheduled = false;
      stateDrawn = performance.now();
      drawState();
    }), Math.max(0, STATE_EVERY - (performance.now() - stateDrawn)));
}

function drawState() {
  for (const [sock, st] of latestStats) {
    const s = sockets.find((x) => x.id === sock);
    if (s) s.stats = st;
  }
  latestStats.clear();
  for (const s of sockets) {
    let card = cards.get(s.id);
    if (!card) {
      card = makeCard(s, { run: (op) => sendOp({ sock: s.id, ...op }).catch(() => {}), flash, defaultAddr });
      cards.set(s.id, card);
      if (wantAddr.has(s.id)) card.addr.value = wantAddr.get(s.id);
      socketsEl.append(card.root);
      if (!currentSock) useSocket(s.id);
    }
    updateCard(card, s);
  }
  renderNetstat();
  renderPending();
  views.refresh();
}

function renderPending() {
  const now = performance.now() * 1000 - serverOffset;
  for (const [id, card] of cards) {
    const mine = pending.filter((p) => p.sock === id);
    card.pending.replaceChildren(
      ...mine.map((p) => el("li", "pending-call", pendingText(p, now))),
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
      // The card may not exist yet (cards are drawn on the next frame):
      // it takes this address when it is made.
      wantAddr.set(sock, b.dataset.addr);
      const card = cards.get(sock);
      if (card) card.addr.value = b.dataset.addr;
      await sendOp({ op: "connect", sock, addr: b.dataset.addr });
    } catch {
      /* shown by flash */
    }
  });
}


// The reference panel's templates fill the send box of the socket used
// last (or the only one).
// The socket in use: the card last clicked or typed in. Shortcuts and
// templates act on it, and presentation mode shows it large.
let currentSock = null;
function useSocket(id) {
  currentSock = id;
  for (const [sid, card] of cards) card.root.classList.toggle("current", sid === id);
  views.refresh();
}
socketsEl.addEventListener("focusin", (e) => {
  const card = e.target.closest(".sock-card");
  if (card) useSocket(card.id.slice(5));
});
socketsEl.addEventListener("click", (e) => {
  const card = e.target.closest(".sock-card");
  if (card) useSocket(card.id.slice(5));
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

const views = initViews({
  events: log.events,
  sockets: () => sockets,
  pending: () => pending,
  now: () => performance.now() * 1000 - serverOffset,
  current: () => currentSock,
  onFocus: (seq) => log.select(seq),
  lastEvent: log.lastArrival,
});
if (!readOnly) initLessons({ sessionId, flash });
const watchBtn = document.getElementById("watch-link");
if (watchBtn) {
  watchBtn.addEventListener("click", async () => {
    try {
      const r = await fetch(`/api/sessions/${sessionId}/watch`, { method: "POST" });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error ? body.error.msg : r.statusText);
      const box = document.getElementById("watch-url");
      box.value = location.origin + body.url;
      box.hidden = false;
      box.size = box.value.length;
      box.select();
      navigator.clipboard?.writeText(box.value).then(
        () => flash("watch link copied: whoever opens it sees this session live, read-only"),
        () => flash("watch link: whoever opens it sees this session live, read-only"),
      );
    } catch (e) {
      flash("could not make a watch link: " + e.message);
    }
  });
}
initUI({ current: () => (cards.get(currentSock) || [...cards.values()].filter((c) => !c.root.classList.contains("closed")).pop() || {}).root, flash });
setInterval(renderPending, 1000);
connect();
