// The sockets column (#sockets): a card per socket of the session, in the
// order they were made, each with its state, its gauges and its pending
// calls; and the socket in use (state.sock), highlighted, which a click
// or a keystroke in its card chooses.

import { makeCard, updateCard } from "./cards.js";
import { el, throttled } from "./dom.js";
import { pendingText } from "./event.js";
import { flash } from "./flash.js";
import { now, on, set, state } from "./state.js";

// How often at most the cards are drawn while states keep coming, in ms:
// redrawing them every frame kept the main thread busy half the time,
// slowing a fast program too.
const EVERY = 150;

// createSockets wires the column. run(op) sends an op; defaultAddr is
// the address a new card's box starts with.
export function createSockets({ run, defaultAddr }) {
  const column = document.getElementById("sockets");
  const cards = new Map(); // socket id → card
  const wantAddr = new Map(); // socket id → the address its card's box takes when made

  function draw() {
    for (const s of state.sockets) {
      let card = cards.get(s.id);
      if (!card) {
        card = makeCard(s, { run: (op) => run({ sock: s.id, ...op }).catch(() => {}), flash, defaultAddr });
        cards.set(s.id, card);
        if (wantAddr.has(s.id)) card.addr.value = wantAddr.get(s.id);
        column.append(card.root);
        // The socket in use may be chosen before its card is made (a
        // watcher following the owner to it).
        card.root.classList.toggle("current", s.id === state.sock);
        if (!state.sock) set({ sock: s.id });
      }
      updateCard(card, s);
    }
    drawPending();
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
  on("sock", (s) => {
    for (const [id, card] of cards) card.root.classList.toggle("current", id === s.sock);
  });
  const choose = (e) => {
    const card = e.target.closest(".sock-card");
    if (card) set({ sock: card.id.slice(5) });
  };
  column.addEventListener("focusin", choose);
  column.addEventListener("click", choose);
  // A pending call's time grows when nothing else happens.
  setInterval(drawPending, 1000);

  return {
    card: (id) => cards.get(id),
    // last is the card made last.
    last: () => [...cards.values()].pop(),
    // inUse is the card of the socket in use, or else the last one still
    // open: the one the keyboard shortcuts act on.
    inUse: () => (cards.get(state.sock) || [...cards.values()].filter((c) => !c.root.classList.contains("closed")).pop() || {}).root,
    // presetAddr gives sock's card this address, now or when it is made
    // (cards are drawn on a later frame).
    presetAddr(sock, addr) {
      wantAddr.set(sock, addr);
      const card = cards.get(sock);
      if (card) card.addr.value = addr;
    },
  };
}
