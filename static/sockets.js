// The sockets column (#sockets): a card per socket of the session, in the
// order they were made, each with its state, its gauges and its pending
// calls; and the socket in use (state.sock), highlighted, which a click
// or a keystroke in its card chooses, or making it; it comes into view,
// with the keyboard, side by side with the other end of its connection.

import { makeCard, updateCard } from "./cards.js";
import { el, throttled } from "./dom.js";
import { pendingText } from "./event.js";
import { flash } from "./flash.js";
import { now, on, set, socketOf, state } from "./state.js";

// How often at most the cards are drawn while states keep coming, in ms:
// redrawing them every frame kept the main thread busy half the time,
// slowing a fast program too.
const EVERY = 150;

// createSockets wires the column. run(op) sends an op.
export function createSockets({ run }) {
  const column = document.getElementById("sockets");
  const cards = new Map(); // socket id → card
  const wantAddr = new Map(); // socket id → the address its card's box takes when made
  let wantUse = null; // the socket to bring into view when its card is made

  // A call from a card that made a socket (accept) makes that one the
  // socket in use: the connection is what the user goes on with.
  const runFrom = (id) => (op) =>
    run({ sock: id, ...op }).then(
      (ev) => {
        if (ev && ev.ok && ev.result && ev.result.sock && ev.result.sock !== id) use(ev.result.sock);
        return ev;
      },
      () => null,
    );

  function draw() {
    for (const s of state.sockets) {
      let card = cards.get(s.id);
      if (!card) {
        card = makeCard(s, { run: runFrom(s.id), flash });
        cards.set(s.id, card);
        if (wantAddr.has(s.id)) card.addr.value = wantAddr.get(s.id);
        column.append(card.root);
        // The socket in use may be chosen before its card is made (a
        // lesson's step, a watcher following the owner to it).
        card.root.classList.toggle("current", s.id === state.sock);
        if (!state.sock) set({ sock: s.id });
      }
      updateCard(card, s);
    }
    arrange();
    if (wantUse && cards.has(wantUse)) show(wantUse);
    drawPending();
  }

  // arrange sets the socket in use side by side with the other end of its
  // connection (a client and the server's socket for it, or the two ends
  // of a pair), where the later of the two is; every other card takes the
  // column's width. CSS order moves them, so the card with the keyboard
  // keeps it.
  function arrange() {
    const ids = [...cards.keys()];
    const s = socketOf(state.sock);
    const peer = s && s.link && s.state !== "closed" && cards.has(s.link) ? s.link : null;
    const [first, second] = peer ? [state.sock, peer].sort((a, b) => ids.indexOf(a) - ids.indexOf(b)) : [];
    ids.forEach((id, i) => {
      const card = cards.get(id);
      card.root.classList.toggle("paired", id === first || id === second);
      card.root.style.order = String(2 * (id === first ? ids.indexOf(second) : i) + (id === second ? 1 : 0));
    });
    column.classList.toggle("has-pair", !!peer);
  }

  // show brings sock's card into view and gives it the keyboard: the
  // single-key shortcuts act on it, Tab goes to its boxes.
  function show(sock) {
    wantUse = null;
    const card = cards.get(sock);
    card.root.scrollIntoView({ block: "nearest", behavior: "instant" });
    // Never take the keyboard from a box the user is typing in elsewhere
    // (a pending accept may end while they type).
    const a = document.activeElement;
    const typing = a && a !== document.body && a.closest("input, textarea, select, [contenteditable]") && !card.root.contains(a);
    if (!typing) card.root.focus({ preventScroll: true });
  }

  // use makes sock the socket in use, its card in view (now, or when it
  // is drawn).
  function use(sock) {
    set({ sock });
    if (cards.has(sock)) show(sock);
    else wantUse = sock;
  }

  function drawPending() {
    const t = now();
    for (const [id, card] of cards) {
      const mine = state.pending.filter((p) => p.sock === id);
      card.pending.replaceChildren(...mine.map((p) => el("li", "pending-call", pendingText(p, t))));
      card.pending.hidden = mine.length === 0;
    }
  }

  on(["sockets", "pending"], throttled(draw, EVERY));
  // However the socket in use changes, stage.js brings its card into
  // view; only use() takes the keyboard. A card chosen with the pointer
  // down is set side by side (or back) once it is up: moving it between
  // a press and its release would lose the click.
  let choosing = false;
  let pressed = false;
  document.addEventListener("pointerdown", () => (pressed = true), true);
  const released = () => {
    if (!pressed) return;
    pressed = false;
    setTimeout(arrange);
  };
  document.addEventListener("pointerup", released, true);
  document.addEventListener("pointercancel", released, true);
  on("sock", (s) => {
    for (const [id, card] of cards) card.root.classList.toggle("current", id === s.sock);
    if (!(choosing && pressed)) arrange();
  });
  const choose = (e) => {
    const card = e.target.closest(".sock-card");
    if (!card) return;
    choosing = true;
    try {
      set({ sock: card.id.slice(5) });
    } finally {
      choosing = false;
    }
  };
  column.addEventListener("focusin", choose);
  column.addEventListener("click", choose);
  // A pending call's time grows when nothing else happens.
  setInterval(drawPending, 1000);

  return {
    card: (id) => cards.get(id),
    // inUse is the card of the socket in use, or else the last one still
    // open: the one the keyboard shortcuts, templates and sends act on.
    inUse: () => (cards.get(state.sock) || [...cards.values()].filter((c) => !c.root.classList.contains("closed")).pop() || {}).root,
    use,
    // presetAddr gives sock's card this address, now or when it is made
    // (cards are drawn on a later frame).
    presetAddr(sock, addr) {
      wantAddr.set(sock, addr);
      const card = cards.get(sock);
      if (card) card.addr.value = addr;
    },
  };
}
