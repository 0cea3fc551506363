// The timeline: a sequence diagram of the session. Time runs down the page
// (top → bottom), one lane (column) per socket, every call drawn at the
// moment it returned, and a call that took time as a bar from when it was
// made. Arrows go from each send to the recvs on the other end that got
// its bytes, so a blocking recv that waited for data, or one send read in
// three pieces, is a picture.
//
// API
//   renderTimeline(container, {events, sockets, pending, now, zoom, offset,
//                              height, onFocus, onView})
//   timeRange(events) → {start, end}
//   zoomTimeline(container, factor, atTime?), scrollTimeline(container, µs),
//   fitTimeline(container), followTimeline(container),
//   timelineView(container) → {zoom, offset, follow}
//
// Drawing cost follows what is in view, not the session's length: the log
// (kept in seq order, so t only grows) is binary-searched for the window,
// marks closer than a few pixels on a lane are merged (a click on such
// a stack lists its events), and elements are capped. Pass the same,
// appended-to events array each time: what was learnt about the log is
// kept per array.
//
// Lanes are the sockets, or, once a Python program runs two threads or
// more (events carry origin.thread), its threads, with the page's own
// calls on their sockets' lanes; a toggle chooses. Lanes narrower than
// the panel allows scroll sideways, and the lane of the socket in use
// (opts.sock) is brought into view when it changes. The view opens on
// the last RECENT calls, not the session's whole span.

import { el, svg } from "./dom.js";
import { ends, kind, label, moved, pendingLabel, pendingTitle, title } from "./event.js";
import { fmt, secs, duration } from "./format.js";
import { findEvent, firstIndex } from "./sorted.js";

const HEAD = 56; // px of lane headers
const AXIS = 96; // px of the time axis
const LANE_MIN = 130;
const RECENT = 12; // calls the view opens on
const STACK_MAX = 60; // events a stack's list shows
const BAR_MIN = 3; // px: a call shorter than this is a dot, not a bar
const MERGE = 5; // px: marks closer than this on one lane become one
const LABEL_GAP = 18; // px between two labels on one lane
const MAX_MARKS = 1500;
const MAX_ARROWS = 800;
const LONG = 50000; // µs: calls longer than this are indexed, for bars that cross the window
const DEFAULT_HEIGHT = 560;

// ---- what is known about a log ------------------------------------------------

// index learns, once per event, what windowed drawing needs: whether t
// only grows (it does for a session's log), the long calls (whose bars can
// cross a window their end is not in), the sockets seen, the close and
// shutdown events that end a stream, and each socket's byte stream as
// flat arrays of numbers (the ruler's streamOf, without an object per
// segment). Offsets depend only on the past, so new events extend it.
const indexes = new WeakMap();

function flowOf(c, sock) {
  let f = c.flows.get(sock);
  if (!f) {
    f = { sOff: [], sLen: [], sT: [], sSeq: [], sTh: [], sEnd: 0, rOff: [], rLen: [], rT: [], rSeq: [], rTh: [], rEnd: 0, eofs: [] };
    c.flows.set(sock, f);
  }
  return f;
}

function index(events) {
  let c = indexes.get(events);
  if (!c || c.n > events.length || (events.length && c.first !== events[0])) {
    c = { n: 0, first: events[0], monotone: true, long: [], socks: new Set(), session: false, fins: new Map(), flows: new Map(), start: Infinity, end: -Infinity,
      threads: new Map(), pageSocks: new Set(), pageSession: false, calls: [] };
    indexes.set(events, c);
  }
  for (let i = c.n; i < events.length; i++) {
    const ev = events[i];
    if (i && ev.t < events[i - 1].t) c.monotone = false;
    // Kernel stats are not calls (the gauges show them), nor is where the
    // owner looks (focus.js): they neither get a mark nor stretch the
    // session's time range.
    if (ev.op === "stats" || ev.op === "focus") continue;
    const start = ev.start ?? ev.t;
    if (start < c.start) c.start = start;
    if (ev.t > c.end) c.end = ev.t;
    if (ev.t - start > LONG) c.long.push(i);
    c.calls.push(i);
    if (ev.sock) c.socks.add(ev.sock);
    else c.session = true;
    // A Python thread's calls, and the sockets each used; the rest are
    // the page's.
    const th = threadOf(ev);
    if (th) {
      if (!c.threads.has(th)) c.threads.set(th, new Set());
      if (ev.sock) c.threads.get(th).add(ev.sock);
    } else if (ev.sock) c.pageSocks.add(ev.sock);
    else c.pageSession = true;
    const m = ev.sock && moved(ev);
    if (m) {
      const f = flowOf(c, ev.sock);
      if (m.dir === "send") {
        f.sOff.push(f.sEnd);
        f.sLen.push(m.n);
        f.sT.push(ev.t);
        f.sSeq.push(ev.seq);
        f.sTh.push(th);
        f.sEnd += m.n;
      } else {
        if (m.eof) f.eofs.push(f.rOff.length);
        f.rOff.push(f.rEnd);
        f.rLen.push(m.n);
        f.rT.push(ev.t);
        f.rSeq.push(ev.seq);
        f.rTh.push(th);
        f.rEnd += m.n;
      }
    }
    if (ends(ev)) {
      if (!c.fins.has(ev.sock)) c.fins.set(ev.sock, []);
      c.fins.get(ev.sock).push(ev);
    }
  }
  c.n = events.length;
  return c;
}

// threadOf is the Python thread that made the event, or "".
function threadOf(ev) {
  return (ev.origin && ev.origin.thread) || "";
}

// timeRange is the span of the log in session microseconds: from the
// earliest call's start to the last event.
export function timeRange(events) {
  const c = index(events);
  return events.length ? { start: c.start, end: c.end } : { start: 0, end: 0 };
}


// visible is the events drawn in [w0, w1]: those that returned in it, and
// the calls still running across it.
function visible(events, c, w0, w1) {
  const out = [];
  const keep = (ev) => ev.op !== "stats" && ev.op !== "focus" && ev.t >= w0 && (ev.start ?? ev.t) <= w1;
  if (!c.monotone) {
    for (const ev of events) if (keep(ev)) out.push(ev);
    return out;
  }
  for (let i = firstIndex(events.length, (i) => events[i].t >= w0); i < events.length && events[i].t <= w1 + LONG; i++) {
    if (keep(events[i])) out.push(events[i]);
  }
  for (const i of c.long) if (events[i].t > w1 + LONG && keep(events[i])) out.push(events[i]);
  return out;
}

// ---- helpers -----------------------------------------------------------------

function niceStep(raw) {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function clip(s, chars) {
  return s.length > chars ? s.slice(0, Math.max(1, chars - 1)) + "…" : s;
}

// ---- arrows --------------------------------------------------------------------

// arrowsFor pairs each send of S with the recvs of R whose byte ranges
// overlap it, for the pairs a line of which crosses [w0, w1]. Both lists
// are in stream order, and in time order too, so the pairs are found from
// the first recv in the window on, not by looking at every send. Arrows
// that would be drawn over one another (the same pixels at both ends)
// are drawn once: zoomed out, thousands of pairs make a few lines.
function arrowsFor(from, to, S, R, w0, w1, monotone, px, out, laneOf) {
  const n = S.sOff.length;
  const m = R.rOff.length;
  if (!n || !m) return;
  const seen = new Set();
  const r0 = monotone ? firstIndex(m, (i) => R.rT[i] >= w0) : 0;
  if (r0 >= m) return;
  const s1 = monotone ? firstIndex(n, (i) => S.sT[i] >= w1 + 1) : n;
  const base = R.rOff[r0];
  let ri = r0;
  for (let si = firstIndex(n, (i) => S.sOff[i] + S.sLen[i] >= base + 1); si < s1; si++) {
    const off = S.sOff[si];
    const end = off + S.sLen[si];
    while (ri < m && R.rOff[ri] + R.rLen[ri] <= off) ri++;
    for (let k = ri; k < m && R.rOff[k] < end; k++) {
      if (!R.rLen[k]) continue;
      const ts = S.sT[si];
      const tr = R.rT[k];
      if (Math.min(ts, tr) > w1 || Math.max(ts, tr) < w0) continue;
      const key = px(ts) * 1e6 + px(tr);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ from: laneOf(from, S.sTh[si]), to: laneOf(to, R.rTh[k]), sSeq: S.sSeq[si], rSeq: R.rSeq[k], ts, tr, a: Math.max(off, R.rOff[k]), b: Math.min(end, R.rOff[k] + R.rLen[k]) });
      if (out.length >= MAX_ARROWS) return;
    }
  }
}

// ---- the component ---------------------------------------------------------

const states = new WeakMap();
let uid = 0;

function stateOf(container) {
  let st = states.get(container);
  if (st) return st;
  st = { zoom: undefined, offset: 0, follow: true, opts: null, uid: ++uid, hot: [], hover: null, last: null, lanes: "auto", stack: null, stacks: new Map(), sock: undefined };
  states.set(container, st);
  const focus = (e) => {
    const m = e.target.closest && e.target.closest("[data-seq]");
    // One call per mark entered, even when a redraw replaced it.
    if (!m || m.dataset.seq === st.hover) return;
    st.hover = m.dataset.seq;
    heat(container, st, st.hover);
    if (st.opts && st.opts.onFocus) st.opts.onFocus(Number(m.dataset.seq));
  };
  container.addEventListener("mouseover", focus);
  container.addEventListener("focusin", focus);
  // A stack of events merged into one mark opens on a click (or Enter)
  // as the list of them; an event in it shows that event.
  const open = (e) => {
    const item = e.target.closest(".spt-stack [data-pick]");
    if (item) {
      if (st.opts && st.opts.onFocus) st.opts.onFocus(Number(item.dataset.pick));
      heat(container, st, item.dataset.pick);
      return;
    }
    if (e.target.closest(".spt-stack-close")) return closeStack(container, st);
    if (e.target.closest(".spt-stack-zoom")) {
      const s = st.stack;
      closeStack(container, st);
      return zoomTimeline(container, Math.max(2, (s.span ? (MERGE * 4 * st.zoom) / s.span : 8)), s.t);
    }
    if (e.target.closest(".spt-stack")) return;
    const m = e.target.closest(".spt-mark.many");
    if (!m) return st.stack && !e.target.closest(".spt-bar") ? closeStack(container, st) : undefined;
    const seqs = st.stacks.get(m.dataset.seq);
    if (!seqs) return;
    st.stack = { seqs, t: Number(m.dataset.t), lane: m.dataset.sock, span: seqs.span };
    drawStack(container, st);
  };
  container.addEventListener("click", open);
  container.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.closest(".spt-mark.many")) open(e);
    if (e.key === "Escape" && st.stack) closeStack(container, st);
  });
  container.addEventListener("mouseleave", () => {
    st.hover = null;
    heat(container, st, null);
  });
  container.addEventListener(
    "wheel",
    (e) => {
      if (!e.target.closest(".spt-scroll")) return;
      const px = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
      if (!px) return;
      e.preventDefault();
      if (e.ctrlKey) {
        const box = e.target.closest(".spt-scroll").getBoundingClientRect();
        const at = st.last ? st.last.w0 + (e.clientY - box.top - HEAD) * st.zoom : undefined;
        zoomTimeline(container, px < 0 ? 1.25 : 0.8, at);
      } else scrollTimeline(container, px * st.zoom);
    },
    { passive: false },
  );
  container.addEventListener("keydown", (e) => {
    const keys = { PageDown: 0.8, PageUp: -0.8, ArrowDown: 0.1, ArrowUp: -0.1 };
    if (e.key in keys && st.last) {
      e.preventDefault();
      scrollTimeline(container, keys[e.key] * st.last.plotH * st.zoom);
    } else if (e.key === "+" || e.key === "=") zoomTimeline(container, 2);
    else if (e.key === "-") zoomTimeline(container, 0.5);
  });
  return st;
}

// heat thickens the arrows of the mark in focus, so which recvs got a
// send's bytes (or which sends a recv's came from) stands out.
function heat(container, st, seq) {
  for (const e of st.hot) e.classList.remove("hot");
  st.hot = [];
  if (seq == null) return;
  const q = `[data-send="${seq}"], [data-recv="${seq}"], .spt-mark[data-seq="${seq}"]`;
  for (const e of container.querySelectorAll(q)) {
    e.classList.add("hot");
    st.hot.push(e);
  }
}

function toolbar(container, st, w0, w1, note) {
  const bar = el("div", "spt-bar");
  const zoom = el("span", "spt-zoom");
  const btn = (text, key, tip, fn, pressed) => {
    const b = el("button", "", text);
    b.type = "button";
    b.title = tip;
    b.setAttribute("aria-label", tip);
    b.dataset.key = key;
    if (pressed !== undefined) b.setAttribute("aria-pressed", String(pressed));
    b.addEventListener("click", fn);
    zoom.append(b);
  };
  btn("−", "zoom-out", "zoom out (−)", () => zoomTimeline(container, 0.5));
  btn("+", "zoom-in", "zoom in (+; Ctrl+wheel zooms where the pointer is)", () => zoomTimeline(container, 2));
  btn("fit", "fit", "the whole session", () => fitTimeline(container));
  btn("recent", "recent", `the last ${RECENT} calls, following the newest`, () => recentTimeline(container));
  btn("↑", "earlier", "earlier (wheel, PageUp)", () => scrollTimeline(container, -0.8 * st.last.plotH * st.zoom));
  btn("↓", "later", "later (wheel, PageDown)", () => scrollTimeline(container, 0.8 * st.last.plotH * st.zoom));
  btn("now", "follow", "follow the newest events", () => followTimeline(container), st.follow);
  if (st.threaded !== undefined) {
    btn(st.threaded ? "lanes: threads" : "lanes: sockets", "lanes", st.threaded ? "a lane per Python thread (the page's own calls on their sockets' lanes): click for a lane per socket" : "a lane per socket: click for a lane per Python thread", () => {
      st.lanes = st.threaded ? "sockets" : "threads";
      changed(container, st);
    }, st.threaded);
  }
  bar.append(zoom, el("span", "spt-window", `${secs(w0)} – ${secs(w1)} · ${duration(st.zoom)} per px`));
  if (note) bar.append(el("span", "spt-note", note));
  return bar;
}

// renderTimeline draws the sequence diagram into container, replacing what
// is there. events: the log in seq order; sockets: the page's socket list
// (lanes, links); pending: the calls not returned yet; now: the session
// clock in µs. zoom (µs per px) and offset (µs at the top) set the view
// when given; otherwise the view the user chose is kept, starting with the
// last RECENT calls and following new events. sock: the socket in use,
// whose lane is kept in view. onFocus(seq) is called for the mark
// hovered or focused (or picked from a stack); onView({zoom, offset,
// follow}) when the user zooms or scrolls.
export function renderTimeline(container, opts = {}) {
  const st = stateOf(container);
  const { events = [], sockets = [], pending = [] } = opts;
  st.opts = opts;
  const c = index(events);
  // The session runs to now only while a call is pending (its bar grows to
  // now); otherwise idle time after the last event would squeeze them all.
  const tEnd = Math.max(pending.length ? (opts.now ?? -Infinity) : -Infinity, events.length ? c.end : 0, ...pending.map((p) => p.start));
  const tStart = events.length ? Math.min(c.start, ...pending.map((p) => p.start)) : 0;
  const height = opts.height || DEFAULT_HEIGHT;
  const plotH = height - HEAD;
  if (opts.zoom !== undefined) st.zoom = opts.zoom;
  if (opts.offset !== undefined) {
    st.offset = opts.offset;
    st.follow = false;
  }
  if (st.zoom === undefined || st.refit || st.recent) {
    // The calls made at a person's speed are seconds apart: the view
    // opens on the last few of them, not the session's whole span.
    const k = st.refit ? 0 : Math.max(0, c.calls.length - RECENT);
    const from = c.calls.length ? (events[c.calls[k]].start ?? events[c.calls[k]].t) : tStart;
    st.zoom = Math.max(1, (tEnd - (st.refit ? tStart : from)) / (plotH * 0.92));
    st.offset = (st.refit ? tStart : from) - 10 * st.zoom;
    st.refit = false;
    st.recent = false;
  }
  const zoom = st.zoom;
  if (st.follow) st.offset = Math.max(tStart - 10 * zoom, tEnd - plotH * 0.92 * zoom);
  const w0 = st.offset;
  const w1 = w0 + plotH * zoom;
  const y = (t) => (t - w0) / zoom;

  // Lanes: the page's sockets in its order, then any other seen in the
  // log; or a program's threads, then the sockets the page used itself.
  st.threaded = c.threads.size ? (st.lanes === "auto" ? c.threads.size >= 2 : st.lanes === "threads") : undefined;
  const threaded = !!st.threaded;
  const laneOf = (sock, th) => (threaded && th ? "@" + th : sock || "");
  const lanes = [];
  if (threaded) {
    for (const th of c.threads.keys()) lanes.push("@" + th);
    for (const s of sockets) if (c.pageSocks.has(s.id)) lanes.push(s.id);
    for (const id of c.pageSocks) if (!lanes.includes(id)) lanes.push(id);
    if (c.pageSession) lanes.push("");
  } else {
    for (const s of sockets) lanes.push(s.id);
    for (const id of c.socks) if (!lanes.includes(id)) lanes.push(id);
    if (c.session) lanes.push("");
  }
  // The lane of the socket in use: its own, or the thread that used it last.
  let inUse = opts.sock && lanes.includes(opts.sock) ? opts.sock : null;
  if (!inUse && opts.sock && threaded) {
    for (let i = c.calls.length - 1; i >= 0 && i >= c.calls.length - 5000; i--) {
      const ev = events[c.calls[i]];
      if (ev.sock === opts.sock && threadOf(ev)) {
        inUse = "@" + threadOf(ev);
        break;
      }
    }
  }
  const width = Math.max((container.clientWidth || 902) - 2, 400);
  // The last lane gets a little more room, for its labels.
  const laneW = Math.max(LANE_MIN, (width - AXIS - 8) / (Math.max(lanes.length, 1) + 0.4));
  const svgW = Math.max(width, AXIS + laneW * (lanes.length + 0.4) + 8);
  const laneX = new Map(lanes.map((id, i) => [id, AXIS + laneW * (i + 0.5)]));
  // Labels run from just right of the mark to just before the next lane.
  const lastLane = lanes[lanes.length - 1];
  const charsOn = (lane) => Math.floor(((lane === lastLane ? 0.9 * laneW - 6 : laneW) - 26) / 7.9);

  const active = document.activeElement;
  const focusKey = active && container.contains(active) ? active.dataset.key || active.getAttribute("data-focus") : null;

  // A group, not an image: its marks are focusable and speak for themselves.
  const root = svg("svg", { width: svgW, height, role: "group", "aria-label": `timeline from ${secs(w0)} to ${secs(w1)}` });
  const defs = svg("defs", {}, root);
  for (const head of ["send", "fin"]) {
    const m = svg("marker", { id: `spt${st.uid}-${head}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    svg("path", { d: "M0,0 L10,5 L0,10 z", class: `spt-head-${head}` }, m);
  }

  // The plot is a nested svg, so what runs past the window is clipped.
  const plot = svg("svg", { x: 0, y: HEAD, width: svgW, height: plotH, overflow: "hidden" }, root);
  const step = niceStep(70 * zoom);
  const decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(step / 1e6))));
  // The time axis is drawn again over the lanes' left edge when they
  // are scrolled sideways, so the times stay beside the marks.
  const axis = svg("svg", { class: "spt-axis", width: AXIS, height, "aria-hidden": "true" });
  svg("rect", { class: "spt-headbg", x: 0, y: 0, width: AXIS, height }, axis);
  svg("text", { class: "spt-lane-sub", x: AXIS - 8, y: HEAD - 10, "text-anchor": "end" }, axis).textContent = "time ↓";
  for (let t = Math.ceil(w0 / step) * step; t <= w1; t += step) {
    svg("line", { class: "spt-grid", x1: AXIS - 4, x2: svgW, y1: y(t), y2: y(t) }, plot);
    if (y(t) > 10) {
      const words = `${(t / 1e6).toFixed(decimals)} s`;
      svg("text", { class: "spt-tick", x: AXIS - 8, y: y(t) + 4 }, plot).textContent = words;
      svg("text", { class: "spt-tick", x: AXIS - 8, y: HEAD + y(t) + 4 }, axis).textContent = words;
    }
  }
  for (const id of lanes) svg("line", { class: `spt-guide${id === inUse ? " current" : ""}`, x1: laneX.get(id), x2: laneX.get(id), y1: 0, y2: plotH }, plot);
  if (opts.now !== undefined && opts.now >= w0 && opts.now <= w1) {
    const g = svg("g", { class: "spt-now" }, plot);
    svg("line", { x1: AXIS - 4, x2: svgW, y1: y(opts.now), y2: y(opts.now) }, g);
    svg("text", { x: svgW - 8, y: y(opts.now) - 4, "text-anchor": "end" }, g).textContent = "now";
  }
  const arrowLayer = svg("g", {}, plot);
  const markLayer = svg("g", {}, plot);

  // Marks: merged when closer than MERGE px on a lane, so a burst of
  // thousands of events costs a few elements.
  const marks = [];
  const lastOn = new Map();
  let dropped = 0;
  for (const ev of visible(events, c, w0, w1)) {
    const lane = laneOf(ev.sock, threadOf(ev));
    if (!laneX.has(lane)) continue;
    const yt = y(ev.t);
    const y0 = y(ev.start ?? ev.t);
    const bar = yt - y0 >= BAR_MIN;
    const prev = lastOn.get(lane);
    if (!bar && prev && !prev.bar && Math.abs(yt - prev.y) < MERGE) {
      prev.more++;
      if (prev.seqs.length < STACK_MAX) prev.seqs.push(ev.seq);
      prev.seqs.span = ev.t - prev.ev.t;
      if (!ev.ok) prev.err = true;
      continue;
    }
    if (marks.length >= MAX_MARKS) {
      dropped++;
      continue;
    }
    const m = { ev, lane, y: yt, y0, bar, more: 0, err: false, seqs: [ev.seq] };
    marks.push(m);
    lastOn.set(lane, m);
  }
  const labelled = new Map();
  st.stacks = new Map();
  for (const m of marks) {
    if (m.more) st.stacks.set(String(m.ev.seq), m.seqs);
    const { ev } = m;
    const x = laneX.get(m.lane);
    const g = svg("g", { class: `spt-mark ${kind(ev)}${ev.auto ? " auto" : ""}${m.more ? " many" : ""}${m.err ? " err" : ""}`, tabindex: 0, "data-seq": ev.seq, "data-t": ev.t, "data-sock": m.lane, "data-focus": "m" + ev.seq }, markLayer);
    const text = title(ev) + (m.more ? `\n+${fmt(m.more)} more event${m.more === 1 ? "" : "s"} here: click to list them` : "");
    svg("title", {}, g).textContent = text;
    g.setAttribute("aria-label", text.replace("\n", " — "));
    if (m.bar) svg("rect", { class: "spt-callbar", x: x - 5, y: Math.max(m.y0, -4), width: 10, height: Math.min(m.y, plotH + 4) - Math.max(m.y0, -4), rx: 4 }, g);
    svg("circle", { cx: x, cy: m.y, r: m.more ? 7 : 6 }, g);
    const lastY = labelled.get(m.lane);
    if (lastY === undefined || m.y - lastY >= LABEL_GAP) {
      labelled.set(m.lane, m.y);
      const more = m.more ? ` +${fmt(m.more)} more` : "";
      const words = clip(label(ev), charsOn(m.lane) - more.length) + more;
      // A backing, so the arrows that leave or reach the mark pass under
      // its words, not through them.
      svg("rect", { class: "spt-lbg", x: x + 9, y: m.y - 8, width: words.length * 7.9 + 4, height: 16, rx: 3 }, g);
      svg("text", { x: x + 11, y: m.y + 4.5 }, g).textContent = words;
    }
  }

  // Pending calls: a bar from the call to now, still growing.
  for (const p of pending) {
    const x = laneX.get(laneOf(p.sock, p.origin && p.origin.thread)) ?? laneX.get(p.sock || "");
    const until = opts.now ?? tEnd;
    if (x === undefined || p.start > w1 || until < w0) continue;
    const g = svg("g", { class: "spt-pending", tabindex: 0, "data-call": p.call, "data-sock": p.sock || "", "data-focus": "p" + p.call }, markLayer);
    const words = pendingLabel(p, until);
    const tip = pendingTitle(p, until);
    svg("title", {}, g).textContent = tip;
    g.setAttribute("aria-label", tip);
    const top = Math.max(y(p.start), -4);
    const bottom = Math.min(Math.max(y(until), y(p.start) + 6), plotH + 4);
    svg("rect", { x: x - 6, y: top, width: 12, height: Math.max(bottom - top, 6), rx: 4 }, g);
    svg("text", { x: x + 12, y: Math.min(Math.max(bottom - 4, 14), plotH - 6) }, g).textContent = clip(words, charsOn(laneOf(p.sock, p.origin && p.origin.thread)));
  }

  // Arrows, for each connection whose two ends are in the session.
  const arrows = [];
  // Two-pixel rows, clamped: a number that keys an arrow's two ends.
  const px = (t) => Math.max(-2e5, Math.min(2e5, Math.round(y(t) / 2)));
  const fins = [];
  for (const s of sockets) {
    const peer = s.link;
    if (!peer || s.type === "dgram" || (!threaded && (!laneX.has(s.id) || !laneX.has(peer)))) continue;
    const S = c.flows.get(s.id);
    const R = c.flows.get(peer);
    if (S && R) arrowsFor(s.id, peer, S, R, w0, w1, c.monotone, px, arrows, laneOf);
    // An EOF is the other end's close (or shutdown) arriving.
    const closes = c.fins.get(s.id) || [];
    if (!R || !closes.length) continue;
    for (const k of R.eofs.slice(-50)) {
      const tr = R.rT[k];
      const fin = closes.filter((e) => e.t <= tr).pop() || closes[0];
      if (Math.min(fin.t, tr) <= w1 && Math.max(fin.t, tr) >= w0) fins.push({ from: laneOf(s.id, threadOf(fin)), to: laneOf(peer, R.rTh[k]), fin, rSeq: R.rSeq[k], tr });
    }
  }
  const lineFor = (a, b, ta, tb, cls, attrs) => {
    const xa = laneX.get(a);
    const xb = laneX.get(b);
    if (xa === undefined || xb === undefined) return null;
    const dir = xb > xa ? 1 : -1;
    const g = svg("g", { class: "spt-arrow " + cls, ...attrs }, arrowLayer);
    svg("line", { x1: xa + 7 * dir, y1: y(ta), x2: xb - 8 * dir, y2: y(tb), "marker-end": `url(#spt${st.uid}-${cls})` }, g);
    return { g, xa, xb };
  };
  for (const p of arrows) {
    const a = p.from;
    const b = p.to;
    const n = p.b - p.a;
    const line = lineFor(a, b, p.ts, p.tr, "send", { "data-send": p.sSeq, "data-recv": p.rSeq, "data-bytes": `${p.a}-${p.b}` });
    if (!line) continue;
    const { g, xa, xb } = line;
    const tip = `bytes ${fmt(p.a)}–${fmt(p.b - 1)} (${fmt(n)}): sent by ${a}'s #${p.sSeq}, returned by ${b}'s recv #${p.rSeq}`;
    svg("title", {}, g).textContent = tip;
    if (arrows.length <= 150 && Math.abs(y(p.tr) - y(p.ts)) >= 34) {
      const t = svg("text", { x: (xa + xb) / 2, y: (y(p.ts) + y(p.tr)) / 2 - 3, "text-anchor": "middle" }, g);
      t.textContent = `${fmt(n)} B`;
    }
  }
  for (const f of fins) {
    const line = lineFor(f.from, f.to, f.fin.t, f.tr, "fin", { "data-send": f.fin.seq, "data-recv": f.rSeq });
    if (!line) continue;
    const { g, xa, xb } = line;
    svg("title", {}, g).textContent = `${f.from}.${f.fin.op}() (#${f.fin.seq}) reached ${f.to}: its recv #${f.rSeq} returned b'' (EOF)`;
    if (Math.abs(y(f.tr) - y(f.fin.t)) >= 34) svg("text", { x: (xa + xb) / 2, y: (y(f.fin.t) + y(f.tr)) / 2 - 3, "text-anchor": "middle" }, g).textContent = "FIN";
  }

  // Lane headers last, over the plot's top edge.
  svg("rect", { class: "spt-headbg", x: 0, y: 0, width: svgW, height: HEAD }, root);
  svg("line", { class: "spt-headline", x1: 0, x2: svgW, y1: HEAD - 0.5, y2: HEAD - 0.5 }, root);
  svg("text", { class: "spt-lane-sub", x: AXIS - 8, y: HEAD - 10, "text-anchor": "end" }, root).textContent = "time ↓";
  for (const id of lanes) {
    const info = sockets.find((s) => s.id === id);
    const g = svg("g", { class: `spt-lane${id === inUse ? " current" : ""}${id.startsWith("@") ? " thread" : ""}`, "data-sock": id }, root);
    const x = laneX.get(id);
    const th = id.startsWith("@") ? id.slice(1) : null;
    // Python names a thread "Thread-3 (handle)" after its target: the
    // name on the first line, the function it runs on the second, so a
    // lane's 130 px show both whole.
    const [thName, thRuns] = (th && /^(.+?) \((.+)\)$/.exec(th)?.slice(1)) || [th, ""];
    // 17 px bold mono is 10.3 px a character, a thread's 14 px 8.5.
    svg("text", { class: "spt-lane-id", x, y: 22, "text-anchor": "middle" }, g).textContent = clip(thName || id || "session", Math.floor((laneW - 8) / (th ? 8.5 : 10.3)));
    const sub = th
      ? `${thRuns ? `${thRuns}()` : "thread"} · ${[...c.threads.get(th)].join(" ") || "no socket"}`
      : info
        ? `${info.type === "dgram" ? "udp" : "tcp"} · ${info.state || ""}${info.link ? ` ↔ ${info.link}` : ""}${threaded ? " · the page's calls" : ""}`
        : id
          ? ""
          : "no socket";
    svg("title", {}, g).textContent = th ? `Python thread ${th}: its calls on ${[...c.threads.get(th)].join(", ") || "no socket"}` : `${id || "the session"}: ${sub}`;
    svg("text", { class: "spt-lane-sub", x, y: 41, "text-anchor": "middle" }, g).textContent = clip(sub, Math.floor(laneW / 7.4));
  }

  const note = dropped ? `${fmt(dropped)} more events in view not drawn: zoom in` : arrows.length >= MAX_ARROWS ? "some arrows not drawn: zoom in" : "";
  st.last = { w0, w1, plotH };
  const wrap = el("div", "spt");
  const sc = el("div", "spt-scroll");
  sc.append(root);
  const frame = el("div", "spt-frame");
  frame.append(sc, axis);
  const showAxis = () => axis.classList.toggle("shown", sc.scrollLeft > 4);
  sc.addEventListener("scroll", showAxis, { passive: true });
  wrap.append(toolbar(container, st, w0, w1, note), frame);
  const oldScroll = container.querySelector(".spt-scroll");
  let left = oldScroll ? oldScroll.scrollLeft : 0;
  // The lane of the socket in use comes into view when it changes (or
  // the lanes do); otherwise the sideways scroll stays where it was.
  const laneKey = `${inUse} ${lanes.length} ${threaded}`;
  if (inUse && laneKey !== st.laneKey) {
    const x = laneX.get(inUse);
    const vw = width;
    if (x - laneW / 2 < left + AXIS || x + laneW / 2 > left + vw) left = Math.max(0, x - AXIS - laneW / 2 - (vw - AXIS - laneW) / 2);
  }
  st.laneKey = laneKey;
  container.replaceChildren(wrap);
  sc.scrollLeft = left;
  showAxis();
  st.laneXs = laneX;
  st.y = y;
  if (st.stack) drawStack(container, st);
  if (focusKey) {
    const again = container.querySelector(`[data-key="${CSS.escape(focusKey)}"], [data-focus="${CSS.escape(focusKey)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
  if (st.hover) heat(container, st, st.hover);
}

// drawStack lists the events of the stack opened, next to its mark: each
// one a button that shows its event, and one to zoom in until they part.
function drawStack(container, st) {
  const sc = container.querySelector(".spt-scroll");
  const s = st.stack;
  const x = st.laneXs && st.laneXs.get(s.lane);
  const events = (st.opts && st.opts.events) || [];
  if (!sc || x === undefined || !st.last || s.t < st.last.w0 || s.t > st.last.w1) {
    st.stack = null;
    return;
  }
  const box = el("div", "spt-stack");
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", `${s.seqs.length} events at one place on the timeline`);
  const head = el("div", "spt-stack-head", `${fmt(s.seqs.length)}${s.seqs.length >= STACK_MAX ? "+" : ""} events here`);
  const zoom = el("button", "spt-stack-zoom", "zoom in");
  zoom.type = "button";
  const close = el("button", "spt-stack-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "close the list");
  head.append(zoom, close);
  box.append(head);
  const list = el("ol", "spt-stack-list");
  for (const seq of s.seqs) {
    const ev = findEvent(events, seq);
    if (!ev) continue;
    const li = el("li");
    const b = el("button", `spt-stack-ev ${kind(ev)}`, `#${ev.seq} ${label(ev)}`);
    b.type = "button";
    b.dataset.pick = ev.seq;
    b.title = title(ev);
    li.append(b);
    list.append(li);
  }
  box.append(list);
  const top = HEAD + st.y(s.t) - 12;
  box.style.left = `${x + 14}px`;
  box.style.top = `${Math.max(4, Math.min(top, HEAD + st.last.plotH - 220))}px`;
  const old = sc.querySelector(".spt-stack");
  if (old) old.replaceWith(box);
  else sc.append(box);
  sc.querySelector(".spt-mark.open")?.classList.remove("open");
  sc.querySelector(`.spt-mark[data-seq="${s.seqs[0]}"]`)?.classList.add("open");
}

function closeStack(container, st) {
  st.stack = null;
  container.querySelector(".spt-stack")?.remove();
  container.querySelector(".spt-mark.open")?.classList.remove("open");
}


function changed(container, st) {
  if (st.opts && st.opts.onView) st.opts.onView(timelineView(container));
  // The page's zoom/offset were for the view before this change.
  const { zoom, offset, ...rest } = st.opts;
  renderTimeline(container, rest);
}

// zoomTimeline magnifies by factor (2 shows half the time in the same
// height), keeping atTime (default: the middle of the view) where it is.
export function zoomTimeline(container, factor, atTime) {
  const st = states.get(container);
  if (!st || !st.last) return;
  const { w0, w1 } = st.last;
  const at = atTime ?? (w0 + w1) / 2;
  const zoom = Math.min(Math.max(st.zoom / factor, 0.05), 1e8);
  st.offset = at - (at - w0) * (zoom / st.zoom);
  st.zoom = zoom;
  st.follow = false;
  changed(container, st);
}

// scrollTimeline moves the view by micros (positive: later).
export function scrollTimeline(container, micros) {
  const st = states.get(container);
  if (!st || !st.last) return;
  st.offset = st.last.w0 + micros;
  st.follow = false;
  changed(container, st);
}

// fitTimeline shows the whole session, and follows it as it grows.
export function fitTimeline(container) {
  const st = states.get(container);
  if (!st) return;
  st.refit = true;
  st.follow = true;
  changed(container, st);
}

// recentTimeline shows the last RECENT calls, and follows the newest.
export function recentTimeline(container) {
  const st = states.get(container);
  if (!st) return;
  st.recent = true;
  st.follow = true;
  changed(container, st);
}

// followTimeline keeps the newest events in view, at the current zoom.
export function followTimeline(container) {
  const st = states.get(container);
  if (!st) return;
  st.follow = true;
  changed(container, st);
}

export function timelineView(container) {
  const st = states.get(container);
  return st ? { zoom: st.zoom, offset: st.last ? st.last.w0 : st.offset, follow: st.follow } : null;
}
