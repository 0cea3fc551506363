// The views panel: the stream ruler and the timeline of the socket in use,
// and the data view of the selected event. The drawing is in ruler/,
// timeline.js and dataview.js; this decides what to draw and when.

import { renderRuler } from "./ruler/ruler.js";
import { renderTimeline } from "./timeline.js";
import { renderData } from "./dataview.js";

const QUIET = 300; // ms without events before a heavy view is redrawn

// initViews wires the panel. events is the log's array (the same one every
// time: the ruler reads it incrementally); sockets(), pending(), now() and
// current() give the session's state; onFocus(seq) shows an event; and
// lastEvent() says when events last arrived.
export function initViews({ events, sockets, pending, now, current, onFocus, lastEvent }) {
  const label = document.getElementById("views-sock");
  const tabs = { ruler: document.getElementById("tab-ruler"), timeline: document.getElementById("tab-timeline") };
  const panes = { ruler: document.getElementById("view-ruler"), timeline: document.getElementById("view-timeline") };
  let active = "ruler";
  let scheduled = false;
  let last = 0;
  let cost = 17; // ms the last draw took: unknown at first, so counted as heavy

  for (const [name, tab] of Object.entries(tabs)) {
    tab.addEventListener("click", () => {
      active = name;
      for (const [n, t] of Object.entries(tabs)) {
        t.setAttribute("aria-selected", String(n === name));
        panes[n].hidden = n !== name;
      }
      draw();
    });
  }

  function draw() {
    scheduled = false;
    last = performance.now();
    try {
      drawViews();
    } finally {
      cost = performance.now() - last;
    }
  }

  function drawViews() {
    const sock = current();
    const socks = sockets();
    if (active === "ruler") {
      if (!sock) return panes.ruler.replaceChildren();
      label.textContent = `· ${sock}`;
      renderRuler(panes.ruler, { events, sockets: socks, sock, onFocus });
    } else {
      label.textContent = "· all sockets";
      renderTimeline(panes.timeline, { events, sockets: socks, pending: pending(), now: now(), onFocus });
    }
  }

  // refresh redraws soon: at most four times a second. A view that takes
  // more than a frame to draw (a ruler over 100,000 recvs) waits until the
  // events stop pouring in, so a fast stream never gets a long task.
  function refresh() {
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

  // Pending bars grow with time even when nothing happens.
  setInterval(() => {
    if (active === "timeline" && pending().length) refresh();
  }, 500);

  return { refresh };
}

// showData draws bytes in the detail pane, as its controls say.
export function showData(container, bytes) {
  const mode = document.getElementById("data-mode").value;
  const encoding = document.getElementById("data-encoding").value;
  renderData(container, bytes, { mode, encoding });
}
