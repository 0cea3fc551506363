// A socket's card: its markup is the page's template
// (templates/sockets.templ), this gives it life: the calls that fit its
// type and its state (all of them on demand), each call's answer next to
// the control that asked, and the gauges of what the kernel holds for
// it, kept up to date from its state.

import { parseAddr } from "./addr.js";
import { parseEscaped, parseHex, toB64 } from "./bytes.js";
import { setText } from "./dom.js";
import { fmt } from "./format.js";
import { FAMILIES, TYPES, pyForm, pyResult } from "./ops.js";

// gauge is a card's labelled bar (templates/sockets.templ: gauge): value
// against a limit.
function gauge(root) {
  const bar = root.querySelector(".bar");
  const fill = root.querySelector(".fill");
  const val = root.querySelector(".val");
  return {
    root,
    set(v, limit) {
      const pct = limit > 0 ? Math.min(100, (100 * v) / limit) : 0;
      // A few bytes in a large buffer still show, as a sliver.
      const width = v > 0 ? `max(3px, ${pct}%)` : "0";
      if (fill.style.width !== width) fill.style.width = width;
      fill.classList.toggle("full", pct >= 90);
      bar.setAttribute("aria-valuenow", v);
      bar.setAttribute("aria-valuemax", limit);
      setText(val, `${fmt(v)} / ${fmt(limit)}`);
    },
  };
}

// answer writes what a call returned, or what was wrong with the input,
// in the answer line of the row (or form) that holds control.
export function answer(control, text, err) {
  const out = control && control.closest(".row, form")?.querySelector(".answer");
  if (!out) return;
  out.textContent = text;
  out.classList.toggle("err", !!err);
  out.hidden = false;
  // The answer, and the card it grew, stay in view; unless the call
  // made another socket the one in use (accept), which is in view then.
  const card = out.closest(".sock-card");
  if (!card) out.scrollIntoView({ block: "nearest", behavior: "instant" });
  else if (card.classList.contains("current")) (card.offsetHeight < innerHeight ? card : out).scrollIntoView({ block: "nearest", behavior: "instant" });
}

// answerText is a call and what it returned, as Python reads them.
export function answerText(ev) {
  return `${pyForm(ev.op, ev.args)} → ${pyResult(ev)}`;
}

// fits says whether a part of a card (its data-fit: states, or
// "type:state") is one of the calls to show now.
function fits(fit, s) {
  return fit.split(/\s+/).some((f) => f === s.state || f === `${s.type}:${s.state}`);
}

// makeCard builds the card for socket s from the page's template
// (templates/sockets.templ: socketCard). run(op) sends an op for it and
// resolves with its event (or null); flash(msg) reports a mistake in the
// user's input. Its address box starts empty: a server's socket has no
// target, and a client's is the user's to say (a lab's button fills it
// in).
export function makeCard(s, { run: send, flash: flashAll }) {
  const id = s.id;
  const unix = s.family === "unix";
  const root = document.getElementById("sock-card").content.firstElementChild.cloneNode(true);
  const $ = (sel) => root.querySelector(sel);
  root.id = "sock-" + id;
  // The control that asked: its row shows the answer, or the mistake.
  let asker = null;
  const run = (op) => {
    const at = asker;
    return send(op).then((ev) => {
      if (ev) answer(at, answerText(ev), !ev.ok);
      return ev;
    });
  };
  const flash = (msg) => {
    answer(asker, msg, true);
    flashAll(msg);
  };
  const asking = (control, fn) => (e) => {
    asker = control;
    fn(e);
  };
  // Only the calls of this socket's type.
  for (const e of root.querySelectorAll("[data-for]")) if (e.dataset.for !== s.type) e.remove();
  for (const e of [root, ...root.querySelectorAll("[aria-label*='{sock}']")]) e.setAttribute("aria-label", e.getAttribute("aria-label").replace("{sock}", id));
  $(".sock-id").textContent = id;

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

  const addr = $(".addr");
  if (unix) addr.placeholder = "demo.sock or /tmp/echo.sock";
  const to = $(".sendto-addr");
  if (to && unix) to.placeholder = "peer.sock";
  // addrOf reads an address box as the tutorials write addresses, or
  // says what is wrong with it.
  const addrOf = (box) => {
    const r = parseAddr(box.value, s.family);
    if (r.error) {
      flash(r.error);
      box.setAttribute("aria-invalid", "true");
      return null;
    }
    box.removeAttribute("aria-invalid");
    return r.addr;
  };
  const withAddr = (box, op) => () => {
    const a = addrOf(box);
    if (a !== null) run(op(a));
  };
  const backlog = $(".backlog");
  const autoAcc = $(".autoaccept-on");
  if (autoAcc) autoAcc.addEventListener("change", asking(autoAcc, () => run({ op: "autoaccept", on: autoAcc.checked })));

  // Data to send.
  const data = $(".send-data");
  const encSel = $(".send-enc");
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
  // An empty box is said, not sent unnoticed: a second press sends b''
  // (an empty datagram on UDP; nothing at all on TCP).
  let emptyOK = false;
  data.addEventListener("input", () => (emptyOK = false));
  const doSend = (op, extra) => {
    const b = bytesOf();
    if (b === null) return;
    if (b.length === 0 && !emptyOK) {
      emptyOK = true;
      flash(`the data box is empty: type the bytes to send, or press ${op} again to call ${op}(b'')${s.type === "dgram" ? " (an empty datagram)" : ", which sends nothing"}`);
      return;
    }
    emptyOK = false;
    run({ op, data: { b64: toB64(b) }, ...extra });
  };
  data.addEventListener(
    "keydown",
    asking(data, (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      // As the card's main button: sendto on a UDP socket not connected.
      if (s.type === "dgram" && !["connected", "closed"].includes(root.dataset.state)) calls.sendto();
      else doSend(e.shiftKey && s.type === "stream" ? "sendall" : "send");
    }),
  );

  // Receiving.
  const bufsize = $(".recv-bufsize");
  const autoChk = $(".auto-on");
  const autoSize = $(".auto-bufsize");
  autoChk.addEventListener(
    "change",
    asking(autoChk, () => {
      if (!autoChk.checked) return run({ op: "autorecv", on: false });
      const n = intOf(autoSize, "auto-recv's bufsize");
      if (n === null) autoChk.checked = false;
      else run({ op: "autorecv", on: true, bufsize: n });
    }),
  );

  const tmo = $(".timeout");
  const optSel = $(".opt-name");
  const optVal = $(".opt-value");
  const opt = () => {
    const [level, name] = optSel.value.split(" ");
    return { level, name };
  };

  // What each button (data-call) does.
  const calls = {
    connect: withAddr(addr, (a) => ({ op: "connect", addr: a })),
    bind: withAddr(addr, (a) => ({ op: "bind", addr: a })),
    listen: withInt(backlog, "backlog", (n) => ({ op: "listen", backlog: n })),
    accept: () => run({ op: "accept" }),
    send: () => doSend("send"),
    sendall: () => doSend("sendall"),
    sendto: () => {
      const a = addrOf(to);
      if (a !== null) doSend("sendto", { addr: a });
    },
    recv: withInt(bufsize, "bufsize", (n) => ({ op: "recv", bufsize: n })),
    recvfrom: withInt(bufsize, "bufsize", (n) => ({ op: "recvfrom", bufsize: n })),
    settimeout: () => {
      const v = tmo.value.trim();
      if (v === "" || v.toLowerCase() === "none" || v.toLowerCase() === "null") return run({ op: "settimeout", timeout: null });
      const n = Number(v);
      if (!Number.isFinite(n)) return flash(`timeout must be None or a number of seconds, not "${v}"`);
      run({ op: "settimeout", timeout: n });
    },
    "setblocking-true": () => run({ op: "setblocking", flag: true }),
    "setblocking-false": () => run({ op: "setblocking", flag: false }),
    setsockopt: () => {
      let value;
      try {
        value = JSON.parse(optVal.value.trim());
      } catch {
        return flash(`the option value must be JSON: a number, true/false, or {"onoff": 1, "linger": 0}`);
      }
      run({ op: "setsockopt", ...opt(), value });
    },
    getsockopt: () => run({ op: "getsockopt", ...opt() }),
    getsockname: () => run({ op: "getsockname" }),
    getpeername: () => run({ op: "getpeername" }),
    "shutdown-wr": () => run({ op: "shutdown", how: "SHUT_WR" }),
    "shutdown-rd": () => run({ op: "shutdown", how: "SHUT_RD" }),
    "shutdown-rdwr": () => run({ op: "shutdown", how: "SHUT_RDWR" }),
    close: () => run({ op: "close" }),
  };
  for (const b of root.querySelectorAll("button[data-call]")) b.addEventListener("click", asking(b, calls[b.dataset.call]));

  // The calls that do not fit the socket's state now, on demand.
  const all = $(".all-calls");
  all.addEventListener("click", () => {
    const open = root.classList.toggle("all");
    all.setAttribute("aria-expanded", String(open));
    all.textContent = open ? "fewer calls" : "all calls";
  });

  const parts = { kind: $(".sock-kind"), status: $(".sock-state"), addrs: $(".sock-addrs"), link: $(".sock-link"), mode: $(".sock-mode") };
  const gauges = { recvq: gauge($(".gauge-recv-Q")), sendq: gauge($(".gauge-send-Q")), acceptq: gauge($(".gauge-accept-Q")), tcp: $(".tcpinfo") };
  const fit = [...root.querySelectorAll("[data-fit]")];
  return { root, ...parts, gauges, autoChk, autoSize, autoAcc, fit, paused: $(".paused"), pending: $(".pending"), addr };
}

export function updateCard(card, s) {
  setText(card.kind, `${FAMILIES[s.family]} ${TYPES[s.type] || "SOCK_STREAM"}`);
  let st = s.state;
  if (s.eof) st += " · peer sent EOF";
  if (s.shut) st += ` · ${s.shut}`;
  setText(card.status, st);
  const cls = "sock-state st-" + s.state;
  if (card.status.className !== cls) card.status.className = cls;
  setText(card.addrs, s.peer ? `${s.local || "?"} → ${s.peer}` : s.local || "");
  setText(card.link, s.link ? `↔ ${s.link}` : "");
  card.link.title = s.link ? `the other end of this connection is ${s.link}` : "";
  setText(card.mode, s.mode === "timeout" ? `timeout ${s.timeout} s` : s.mode);
  card.autoChk.checked = !!s.autorecv;
  if (s.autorecv) card.autoSize.value = s.autorecv;
  if (card.autoAcc) card.autoAcc.checked = !!s.autoaccept;
  card.paused.hidden = !s.paused;
  if (s.stats) updateGauges(card, s.stats);
  const closed = s.state === "closed";
  // Show the calls that fit the socket now: no listen on a connected
  // socket, no send on a listener, no shutdown on a UDP socket.
  card.root.dataset.state = s.state;
  card.root.classList.toggle("closed", closed);
  for (const e of card.fit) e.classList.toggle("unfit", !fits(e.dataset.fit, s));
  // A closed socket keeps its calls: send after close is OSError
  // [Errno 9], worth showing.
  card.gauges.recvq.root.parentElement.hidden = closed;
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
  setText(g.tcp, t.join(" · "));
}
