// The stream ruler: a socket's bytes drawn to scale. For TCP, each
// direction's byte stream is drawn once, with the boundaries of the sends
// that wrote it above and of the recvs that read it below, so that "three
// sends became four recvs" is a picture, not a sentence: TCP keeps the
// bytes and their order, never the boundaries. For UDP every datagram is
// its own box, because there the boundaries are the message, and a
// truncated datagram shows the part that was lost.
//
// This module is the component: its state per container, the toolbar,
// zoom, focus and scrolling. model.js reads the streams from the log,
// layout.js places them, draw.js draws the part in view.
//
// API
//   streamOf(events, sock, type?) → {sent, recvd, datagrams: {sent, recvd}}
//   renderRuler(container, {events, sockets, sock, onFocus})
//   zoomRuler(container, factor), fitRuler(container), bytesRuler(container)
//
// events must be in seq order, as the page receives them. The view keeps
// its zoom and scroll position per container across calls, so the page can
// call renderRuler again on every new event.

import { el } from "../dom.js";
import { drawVisible, textOf } from "./draw.js";
import { MAX_SCALE, layoutDgrams, layoutStream, offAt, tracksFor, xAt } from "./layout.js";

export { streamOf } from "./model.js";

const BYTES_SCALE = 16; // px per byte of the "bytes" zoom: legible on a projector
const LABEL_W = 116; // px of the row labels left of the ruler (style.css reads it as --spr-label-w)

const states = new WeakMap();

function stateOf(container) {
  let st = states.get(container);
  if (st) return st;
  st = { zoom: 1, views: new Map(), decoded: new Map(), events: [], tracks: [], opts: null, hover: null, text: true };
  states.set(container, st);
  const focus = (e) => {
    const seg = e.target.closest && e.target.closest(".spr-seg, .spr-tp[data-seq], .spr-tline");
    if (!seg) return;
    // One call per segment entered, even when a redraw replaced it.
    const key = `${seg.dataset.row}#${seg.dataset.seq}`;
    if (key === st.hover) return;
    st.hover = key;
    if (st.opts && st.opts.onFocus) st.opts.onFocus(Number(seg.dataset.seq));
  };
  container.addEventListener("mouseover", focus);
  container.addEventListener("focusin", focus);
  container.addEventListener("mouseleave", () => (st.hover = null));
  container.addEventListener("keydown", (e) => {
    const seg = e.target.closest && e.target.closest(".spr-seg");
    if (!seg || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
    e.preventDefault();
    stepFocus(st, seg, e.key === "ArrowRight" ? 1 : -1);
  });
  container.addEventListener(
    "wheel",
    (e) => {
      if (!e.ctrlKey || !e.target.closest(".spr-scroll")) return;
      e.preventDefault();
      zoomRuler(container, e.deltaY < 0 ? 1.5 : 1 / 1.5);
    },
    { passive: false },
  );
  return st;
}

// stepFocus moves the keyboard focus along a row, scrolling what was not
// drawn yet into view.
function stepFocus(st, seg, dir) {
  const track = st.tracks.find((t) => seg.dataset.row.startsWith(t.key + "/"));
  if (!track) return;
  const row = track.rows.find((r) => `${track.key}/${r.role}` === seg.dataset.row);
  const i = Number(seg.dataset.i) + dir;
  if (!row || i < 0 || i >= row.items.length) return;
  const sc = track.scroller;
  const x = row.xs[i];
  if (x < sc.scrollLeft || row.ends[i] > sc.scrollLeft + sc.clientWidth) {
    sc.scrollLeft = x - sc.clientWidth / 3;
    track.left = sc.scrollLeft;
    drawVisible(st, track);
  }
  const next = track.canvas.querySelector(`.spr-seg[data-row="${CSS.escape(seg.dataset.row)}"][data-i="${i}"]`);
  if (next) next.focus({ preventScroll: true });
}

// remember notes, per track, which bytes are in view, so a redraw (new
// data, a zoom) shows the same ones; a view that showed the end keeps
// following it.
// The positions are the ones kept from drawing and scrolling, not read
// from the page: reading them would make the browser lay out the old
// drawing just to throw it away.
function remember(st, anchor) {
  for (const t of st.tracks) {
    if (t.left === undefined) continue;
    const atEnd = t.left + t.vw >= t.width - 2;
    const x = anchor === "center" ? t.left + t.vw / 2 : t.left;
    st.views.set(t.key, { off: offAt(t, x), anchor, atEnd: atEnd && anchor !== "center" });
  }
}

// restore is where the view of a track starts after a redraw, computed
// from the layout rather than read back from the page, which would make
// the browser lay the page out before the drawing is done.
function restore(st, track, width) {
  const v = st.views.get(track.key);
  const max = Math.max(0, track.width - width);
  if (!v) return 0;
  if (v.atEnd) return max;
  const x = xAt(track, v.off);
  return Math.min(max, Math.max(0, v.anchor === "center" ? x - width / 2 : x));
}

function toolbar(container, tracks) {
  const bar = el("div", "spr-bar");
  const zoom = el("span", "spr-zoom");
  const btn = (text, key, title, fn) => {
    const b = el("button", "", text);
    b.type = "button";
    b.title = title;
    b.setAttribute("aria-label", title);
    b.dataset.key = key;
    b.addEventListener("click", fn);
    zoom.append(b);
  };
  btn("−", "zoom-out", "zoom out", () => zoomRuler(container, 0.5));
  btn("fit", "zoom-fit", "fit the streams to the width", () => fitRuler(container));
  btn("+", "zoom-in", "zoom in (Ctrl+wheel zooms too)", () => zoomRuler(container, 2));
  btn("bytes", "zoom-bytes", "zoom in until each byte is drawn", () => bytesRuler(container));
  const legend = el("span", "spr-legend");
  const key = (cls, text) => {
    const s = el("span");
    s.append(el("span", "spr-key " + cls), text);
    legend.append(s);
  };
  // Only the keys for what is drawn.
  const dgram = tracks.some((t) => t.kind === "dgram");
  key("send", dgram ? "one datagram sent" : "one send() call");
  key("recv", dgram ? "one datagram received" : "one recv() call");
  if (tracks.some((t) => t.flight)) key("flight", "sent, not read yet: in the kernel");
  if (tracks.some((t) => t.kind === "dgram" && t.rows[1].items.some((d) => d.truncated))) key("lost", "bytes lost to truncation");
  // The bytes as text under each track, wrapped: on unless turned off.
  const st = states.get(container);
  const text = el("button", "spr-text-toggle", "text");
  text.type = "button";
  text.dataset.key = "text";
  text.title = "the bytes as text under each track, wrapped, each call's bytes marked";
  text.setAttribute("aria-pressed", String(!!(st && st.text)));
  text.addEventListener("click", () => {
    st.text = !st.text;
    rerender(container, null);
  });
  zoom.append(text);
  // The same bytes as text, in the views' transcript tab (views.js acts
  // on data-view).
  const tx = el("button", "spr-to-transcript", "transcript");
  tx.type = "button";
  tx.dataset.view = "transcript";
  tx.title = "the bytes as text, each call with its length and offsets (as socat -v shows them)";
  bar.append(zoom, tx, legend);
  return bar;
}

function trackEl(track) {
  const sec = el("section", "spr-track");
  sec.dataset.track = track.key;
  sec.setAttribute("aria-label", track.head[0] + track.head[1]);
  const h = el("h4", "spr-head");
  h.append(el("span", "spr-dir", track.head[0]), track.head[1], el("span", "spr-sub", track.head[2]));
  sec.append(h);
  const body = el("div", "spr-body");
  const labels = el("div", "spr-labels");
  labels.style.height = `${track.height}px`;
  for (const l of track.lines) {
    if (!l.label) continue;
    const d = el("div", "spr-label " + (l.row ? l.row.role : "bytes"), l.label);
    d.style.top = `${l.y}px`;
    d.style.height = `${l.h}px`;
    labels.append(d);
  }
  const sc = el("div", "spr-scroll");
  const canvas = el("div", "spr-canvas");
  canvas.style.height = `${track.height}px`;
  sc.append(canvas);
  body.append(labels, sc);
  sec.append(body);
  track.scroller = sc;
  track.canvas = canvas;
  return sec;
}

function empty(track) {
  return track.rows.every((r) => r.items.length === 0);
}

// renderRuler draws sock's byte streams into container, replacing what is
// there. sockets is the page's socket list (for types and links); onFocus
// (seq) is called when a segment is hovered or focused.
export function renderRuler(container, opts = {}) {
  const st = stateOf(container);
  const { events = [], sockets = [], sock } = opts;
  if (st.events !== events) st.decoded.clear();
  st.opts = opts;
  st.events = events;
  const active = document.activeElement;
  const focusKey = active && container.contains(active) ? active.dataset.key || (active.dataset.row && `${active.dataset.row}#${active.dataset.seq}`) : null;
  // After "fit" nothing is kept: the whole stream is in view.
  if (st.anchor === "fit") st.views.clear();
  else remember(st, st.anchor);
  st.anchor = null;
  const root = el("div", "spr");
  root.style.setProperty("--spr-label-w", `${LABEL_W}px`);
  st.tracks = sock ? tracksFor(events, sockets, sock) : [];
  root.append(toolbar(container, st.tracks));
  if (!sock) root.append(el("p", "spr-none", "Choose a socket to see its byte streams."));
  const shown = [];
  for (const t of st.tracks) {
    if (empty(t)) {
      const p = el("p", "spr-none");
      p.append(el("span", "spr-dir", t.head[0] + t.head[1]), ": nothing yet");
      p.dataset.track = t.key;
      root.append(p);
      continue;
    }
    root.append(trackEl(t));
    shown.push(t);
  }
  // Measured before the swap, while the page's layout is still clean: the
  // scroll area is the container's content box less the label column.
  const cs = getComputedStyle(container);
  const inner = container.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const width = inner > 0 ? Math.max(160, inner - LABEL_W - 2) : 800;
  container.replaceChildren(root);
  st.tracks = shown;
  for (const t of shown) {
    if (t.kind === "stream") layoutStream(t, width, st.zoom);
    else layoutDgrams(t, width, st.zoom);
    t.canvas.style.width = `${Math.max(t.width, width)}px`;
    const left = restore(st, t, width);
    if (left > 0) t.scroller.scrollLeft = left;
    drawVisible(st, t, left, width);
    if (st.text && !wholeInRow(t, width)) t.scroller.closest(".spr-track").append(textOf(st, t));
    let queued = false;
    t.left = left;
    t.vw = width;
    t.scroller.addEventListener("scroll", () => {
      t.left = t.scroller.scrollLeft;
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        drawVisible(st, t);
      });
    });
  }
  if (focusKey) {
    const again = [...container.querySelectorAll("[data-key], .spr-seg")].find(
      (e) => (e.dataset.key || `${e.dataset.row}#${e.dataset.seq}`) === focusKey,
    );
    if (again) again.focus({ preventScroll: true });
  }
}

// wholeInRow says whether a stream's byte row already shows every byte
// legibly: each in a cell of its own, all in view. Only then is its text
// below left out; it is there for what the row cannot show (a whole HTTP
// response, a stream too long for the window). Datagrams always have it.
function wholeInRow(t, width) {
  return t.kind === "stream" && t.scale >= BYTES_SCALE && t.width <= width;
}

function rerender(container, anchor) {
  const st = states.get(container);
  if (!st || !st.opts) return;
  st.anchor = anchor;
  renderRuler(container, st.opts);
}

// zoomRuler multiplies the scale by factor, keeping the bytes in the middle
// of the view in the middle. The ruler never zooms out past "fit".
export function zoomRuler(container, factor) {
  const st = states.get(container);
  if (!st) return;
  st.zoom = Math.min(Math.max(st.zoom * factor, 1), 1e9);
  rerender(container, "center");
}

export function fitRuler(container) {
  const st = states.get(container);
  if (!st) return;
  st.zoom = 1;
  rerender(container, "fit");
}

// bytesRuler zooms until every byte of the streams gets a cell of its own.
export function bytesRuler(container) {
  const st = states.get(container);
  if (!st || !st.tracks.length) return;
  const fit = Math.min(...st.tracks.map((t) => t.fit || MAX_SCALE));
  st.zoom = Math.max(1, BYTES_SCALE / fit);
  rerender(container, "center");
}
