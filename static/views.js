// The views panel (#views): the stream ruler of the socket in use, its
// transcript, or the timeline of them all, as state.view says. The
// drawing is in ruler/, transcript.js and timeline.js; this decides what
// to draw and when.

import { renderRuler } from "./ruler/ruler.js";
import { now, on, set, state } from "./state.js";
import { renderTimeline } from "./timeline.js";
import { renderTranscript } from "./transcript.js";

const QUIET = 300; // ms without events before a heavy view is redrawn

// initViews wires the panel. events is the log's array (the same one every
// time: the ruler reads it incrementally); onFocus(seq) shows an event;
// and lastEvent() says when events last arrived.
export function initViews({ events, onFocus, lastEvent }) {
  const root = document.getElementById("views");
  const label = document.getElementById("views-sock");
  const names = ["ruler", "transcript", "timeline"];
  const tabs = Object.fromEntries(names.map((n) => [n, document.getElementById("tab-" + n)]));
  const panes = Object.fromEntries(names.map((n) => [n, document.getElementById("view-" + n)]));
  let scheduled = false;
  let last = 0;
  let cost = 17; // ms the last draw took: unknown at first, so counted as heavy

  for (const [name, tab] of Object.entries(tabs)) tab.addEventListener("click", () => set({ view: name }));
  // A view's own link to another (the ruler's "transcript").
  document.getElementById("views").addEventListener("click", (e) => {
    const to = e.target.closest("button[data-view]");
    if (to && to.dataset.view in panes) set({ view: to.dataset.view });
  });
  on("view", (s) => {
    for (const [n, t] of Object.entries(tabs)) {
      t.setAttribute("aria-selected", String(n === s.view));
      panes[n].hidden = n !== s.view;
    }
    draw();
  });

  function draw() {
    scheduled = false;
    // Events that came while this draw was waiting for its frame may
    // reach the log only after it: they get a draw of their own.
    const more = again;
    again = false;
    last = performance.now();
    try {
      drawViews();
      // What the views show is as of this event (tests await it).
      root.dataset.drawn = String(events.length ? events[events.length - 1].seq : 0);
    } finally {
      cost = performance.now() - last;
    }
    if (more) refresh();
  }

  function drawViews() {
    const sock = state.sock;
    if (state.view === "ruler") {
      if (!sock) return panes.ruler.replaceChildren();
      label.textContent = `· ${sock}`;
      renderRuler(panes.ruler, { events, sockets: state.sockets, sock, onFocus });
    } else if (state.view === "transcript") {
      if (!sock) return panes.transcript.replaceChildren();
      label.textContent = `· ${sock}`;
      renderTranscript(panes.transcript, { events, sockets: state.sockets, sock, onFocus });
    } else {
      label.textContent = "· all sockets";
      renderTimeline(panes.timeline, { events, sockets: state.sockets, pending: state.pending, now: now(), sock: state.sock, onFocus });
    }
  }

  // refresh redraws soon: at most four times a second. A view that takes
  // more than a frame to draw (a ruler over 100,000 recvs) waits until the
  // events stop pouring in, so a fast stream never gets a long task.
  let again = false;
  function refresh() {
    if (scheduled) again = true;
    if (scheduled || document.hidden) return;
    scheduled = true;
    setTimeout(tick, Math.max(0, 250 - (performance.now() - last)));
  }
  function tick() {
    if (cost > 16 && performance.now() - lastEvent() < QUIET) {
      setTimeout(tick, QUIET);
      return;
    }
    requestAnimationFrame(draw);
  }
  on(["sockets", "pending", "sock"], refresh);
  // Hidden, a page draws nothing: when it shows again, it draws what came.
  document.addEventListener("visibilitychange", refresh);
  // Laid out for their width: drawn anew when it changes (the window, or
  // the stage's zoom in presentation mode).
  const widths = new Map();
  const resized = new ResizeObserver((entries) => {
    for (const e of entries) {
      const w = e.target.clientWidth;
      if (widths.get(e.target) === w) continue;
      widths.set(e.target, w);
      refresh();
    }
  });
  for (const p of Object.values(panes)) resized.observe(p);

  // Pending bars grow with time even when nothing happens.
  setInterval(() => {
    if (state.view === "timeline" && state.pending.length) refresh();
  }, 500);

  return { refresh };
}
