// The event log: every event of the session, shown as a virtual list.
// Only the rows in view exist in the page, and new events are applied
// once per animation frame, so 100,000 events load in a moment and 10,000
// a second stream in without a long task.
//
// A row shows its call and its result whole: a long one wraps, and the
// row grows. Rows are 40 px until drawn; a drawn row's height is measured
// and kept (per seq, until the width or the view changes), and the rows'
// tops are sums of those heights. A row clicked expands in place to show
// its bytes whole (up to EXPANDED of them; the detail pane has them all),
// and a second click folds it; an event shown from another view (a
// ruler segment hovered) is highlighted, not expanded.

import { call, dataPreview, errorTitle, originTitle, pyPrompt, pyRepr, resultText, took } from "./event.js";
import { el } from "./dom.js";
import { plural } from "./format.js";
import { findEvent, firstIndex } from "./sorted.js";

const ROW = 40; // px: a row's height until it is drawn and measured
const OVERSCAN = 8;
const DATA_MAX = 48; // bytes a row shows as text
const HEX_MAX = 12; // and in hex, under them
const EXPANDED = 1024; // bytes an expanded row shows as text
const EXPANDED_HEX = 256; // and in hex
const QUIET = 50; // ms without new events before the rows are drawn
const BUSY_DRAW = 400; // ms between draws while events keep coming

// texts computes, once, what a row shows and what search looks at.
function texts(ev) {
  if (ev._t) return ev._t;
  ev._t = {
    call: call(ev),
    result: resultText(ev),
    pyCall: pyPrompt(ev),
    pyResult: pyRepr(ev),
    ...dataPreview(ev, DATA_MAX, HEX_MAX),
  };
  return ev._t;
}

function searchText(ev) {
  if (ev._s === undefined) {
    const t = texts(ev);
    ev._s = `${ev.seq} ${ev.sock || ""} ${t.call} ${t.result} ${t.pyCall} ${t.pyResult} ${t.text} ${t.hex}`.toLowerCase();
  }
  return ev._s;
}


export function createLog({ onSelect }) {
  const scroller = document.getElementById("log-scroll");
  const spacer = document.getElementById("log-spacer");
  const rows = document.getElementById("log-body");
  const count = document.getElementById("log-count");
  const table = document.getElementById("log");
  const f = {
    sock: document.getElementById("filter-sock"),
    op: document.getElementById("filter-op"),
    errors: document.getElementById("filter-errors"),
    stats: document.getElementById("show-stats"),
    search: document.getElementById("filter-search"),
    follow: document.getElementById("log-follow"),
    pause: document.getElementById("log-pause"),
    python: document.getElementById("python-view"),
  };
  const events = []; // every event, in seq order
  let view = []; // indices into events that pass the filters
  let incoming = [];
  let gaps = [];
  let paused = false;
  let scheduled = false;
  let lastDraw = 0;
  let lastArrival = 0;
  let selected = 0;
  let expanded = 0; // the row opened by a click
  const socks = new Set();
  const ops = new Set();

  // where: a filter set from outside the toolbar (the code pane's "the
  // events of this line"), shown as a chip that clears it.
  let where = null;
  let marking = true;
  function filter() {
    const sock = f.sock.value;
    const op = f.op.value;
    const errors = f.errors.checked;
    const stats = f.stats.checked;
    const q = f.search.value.trim().toLowerCase();
    const w = where && where.test;
    // With no filter chosen, the rows are every event but the kernel
    // stats: a seq that jumps says what it skipped. A filter chosen shows
    // a part, and the count says how much.
    marking = !w && !sock && !op && !errors && !q;
    return (ev) =>
      (!w || w(ev)) &&
      (!sock || ev.sock === sock) &&
      (!op || ev.op === op) &&
      (!errors || !ev.ok) &&
      (stats || op === "stats" || ev.op !== "stats") &&
      (op === "focus" || ev.op !== "focus") && // where the owner looks: no call (focus.js)
      (!q || searchText(ev).includes(q));
  }
  const chip = el("button", "small where-chip");
  chip.type = "button";
  chip.hidden = true;
  chip.addEventListener("click", () => setWhere(null));
  f.search.after(chip);
  function setWhere(w) {
    where = w;
    chip.hidden = !w;
    if (w) {
      chip.textContent = `${w.label} ×`;
      chip.title = `only ${w.label}: click to show every event again`;
    }
    refilter();
  }
  let pass = filter();

  // refilter recomputes the view; a search over 100,000 events is done in
  // slices across frames so the page never stalls.
  let refilterToken = 0;
  function refilter() {
    pass = filter();
    const token = ++refilterToken;
    const next = [];
    let i = 0;
    const slice = () => {
      if (token !== refilterToken) return;
      const end = Math.min(events.length, i + 20000);
      for (; i < end; i++) if (pass(events[i])) next.push(i);
      if (i < events.length) return requestAnimationFrame(slice);
      view = next;
      topsN = 0;
      render(true);
    };
    slice();
  }

  function addOption(sel, set, v) {
    if (!v || set.has(v)) return;
    set.add(v);
    sel.append(new Option(v, v));
  }

  // push queues events; they are applied on the next frame.
  function push(evs) {
    for (const ev of evs) incoming.push(ev);
    schedule();
  }

  function gap(from, to) {
    gaps.push({ from, to });
    schedule();
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(frame);
    }
  }

  function frame() {
    scheduled = false;
    const arrived = incoming.length > 0;
    if (incoming.length) {
      const batch = incoming;
      incoming = [];
      for (const ev of batch) {
        events.push(ev);
        addOption(f.sock, socks, ev.sock);
        addOption(f.op, ops, ev.op);
        if (!paused && pass(ev)) view.push(events.length - 1);
      }
    }
    if (gaps.length) {
      for (const g of gaps) {
        const note = document.getElementById("log-gap");
        note.hidden = false;
        note.textContent = `events ${g.from}–${g.to} were dropped from the server's memory (its event-log limit)`;
      }
      gaps = [];
    }
    // While events pour in (a session loading, a fast stream), drawing the
    // rows every frame costs more than it shows: draw them once arrivals
    // have been quiet for a moment, and a few times a second meanwhile.
    const now = performance.now();
    if (arrived) lastArrival = now;
    if (now - lastArrival >= QUIET || now - lastDraw >= BUSY_DRAW) {
      render(false);
      lastDraw = now;
    } else {
      schedule(); // skipped: draw on a later frame, at the latest when it is quiet
    }
  }

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < ROW;
  }

  // heights: the measured height of each row drawn (by seq), at the
  // current width and view; tops[i] is the top of view[i], valid for
  // i <= topsN.
  let heights = new Map();
  let tops = new Float64Array(1024);
  let topsN = 0;
  function layout() {
    const n = view.length;
    if (tops.length < n + 1) {
      const t = new Float64Array(Math.max(n + 1, tops.length * 2));
      t.set(tops.subarray(0, topsN + 1));
      tops = t;
    }
    for (let i = topsN; i < n; i++) tops[i + 1] = tops[i] + (heights.get(events[view[i]].seq) || ROW);
    topsN = n;
  }
  // indexAt is the index of the row at y px from the top.
  function indexAt(y) {
    return firstIndex(view.length, (i) => tops[i + 1] > y);
  }
  function relayout() {
    heights = new Map();
    topsN = 0;
  }

  // render draws the rows in view. follow keeps the newest in view.
  function render(force) {
    // A second pass places the rows by their measured heights; it draws
    // them again only if that brings other rows into view.
    for (let pass = 0; pass < 3; pass++) {
      if (!draw(force && pass === 0)) break;
    }
  }
  // draw draws the rows in view once and measures them: true if a height
  // changed, so that what is in view must be worked out again.
  function draw(force) {
    const n = view.length;
    if (topsN > n) topsN = 0;
    layout();
    spacer.style.height = tops[n] + "px";
    count.textContent = paused ? `(${n} shown, paused: ${events.length - lastCount} new)` : `(${events.length}${n !== events.length ? `, ${n} shown` : ""})`;
    if (!paused) lastCount = events.length;
    const following = f.follow.checked && !paused;
    if (following) scroller.scrollTop = scroller.scrollHeight;
    // Following, the rows are new at every draw of a fast stream, and
    // each costs its layout: only a couple beyond the window are drawn
    // (a scroll draws what it brings into view before it is painted).
    const over = following ? 2 : OVERSCAN;
    const first = Math.max(0, indexAt(scroller.scrollTop) - over);
    const last = Math.min(n, indexAt(scroller.scrollTop + scroller.clientHeight) + 1 + over);
    rows.style.transform = `translateY(${tops[first]}px)`;
    if (!force && first === shown.first && last === shown.last && n === shown.n) return false;
    shown = { first, last, n };
    // A row already drawn is kept as it is, where it is: while events
    // stream in, each draw adds the newest rows and drops the oldest, and
    // only those are made, laid out and measured (rebuilding every row
    // each time was most of a busy frame). Forced, every row is made anew.
    const py = f.python.checked;
    if (force) drawn.clear();
    const want = []; // {at, prev, div, fresh} for each row in view, in order
    for (let i = first; i < last; i++) {
      const at = view[i];
      const prev = i > 0 ? view[i - 1] : -1;
      const had = drawn.get(at);
      want.push(had && had.prev === prev ? { ...had, fresh: false } : { at, prev, div: row(events[at], py, prev, at), fresh: true });
    }
    const keep = new Set(want.map((r) => r.div));
    for (const c of [...rows.children]) if (!keep.has(c)) c.remove();
    let cursor = rows.firstElementChild;
    for (const r of want) {
      if (cursor === r.div) cursor = cursor.nextElementSibling;
      else rows.insertBefore(r.div, cursor);
    }
    drawn = new Map(want.map((r) => [r.at, r]));
    // Measure what was drawn anew; a row above the one at the top of the
    // window that grew pushes it down by as much, unless following.
    let changed = -1;
    let above = 0;
    const top = indexAt(scroller.scrollTop);
    want.forEach((r, k) => {
      if (!r.fresh) return;
      const i = first + k;
      const h = r.div.offsetHeight;
      const seq = events[r.at].seq;
      const was = heights.get(seq) || ROW;
      if (h && h !== was) {
        heights.set(seq, h);
        if (changed < 0) changed = i;
        if (i < top) above += h - was;
      }
    });
    if (changed < 0) return false;
    topsN = Math.min(topsN, changed);
    if (above && !following) scroller.scrollTop += above;
    return true;
  }
  let shown = { first: -1, last: -1, n: -1 };
  let drawn = new Map(); // the rows in the page, by index in events: {at, prev, div}
  let lastCount = 0;

  function row(ev, py, prev, at) {
    const r = ev.result || {};
    const t = texts(ev);
    const open = ev.seq === expanded;
    const div = el("div", `ev ev-${ev.op}${ev.ok ? "" : " err"}${ev.auto ? " auto" : ""}${r.eof ? " eof" : ""}${r.truncated ? " truncated" : ""}${ev.seq === selected ? " selected" : ""}`);
    div.dataset.seq = ev.seq;
    div.dataset.sock = ev.sock || "";
    div.setAttribute("role", "row");
    div.tabIndex = -1;
    const skipped = hiddenBefore(prev, at);
    if (skipped) {
      div.classList.add("after-hidden");
      div.append(skipped);
    }
    const callCell = el("span", "call");
    const o = ev.origin;
    if (o && o.line) {
      // Where in the program the call was made: a click shows the line.
      const at = el("span", "origin", `L${o.line}`);
      at.title = originTitle(ev);
      callCell.append(at);
    }
    callCell.append(el("span", py ? "py" : "human", py ? t.pyCall : t.call));
    const slow = took(ev);
    if (slow) callCell.append(el("span", "dur", slow));
    const result = el("span", "result");
    result.append(el("span", py ? "py" : "human", py ? t.pyResult : t.result));
    result.title = t.result;
    const data = el("span", "data");
    if (open && t.text) {
      const whole = dataPreview(ev, EXPANDED, EXPANDED_HEX);
      data.append(el("span", "text", whole.text), el("span", "hex", whole.hex));
    } else if (t.text) data.append(el("span", "text", t.text), el("span", "hex", t.hex));
    div.append(el("span", "seq", String(ev.seq)), el("span", "t", (ev.t / 1e6).toFixed(6)), el("span", "sock", ev.sock || ""), callCell, result);
    // A row without bytes gives their columns to its result.
    if (t.text || r.n !== undefined) div.append(el("span", "size", r.n !== undefined ? String(r.n) : ""), data);
    else div.classList.add("nodata");
    if (!ev.ok) div.title = errorTitle(ev);
    return div;
  }

  // hiddenBefore says what the filters hide between the row shown before
  // (the events' index prev, -1 for none) and this one (at), so that a
  // seq that jumps says why: null if nothing is hidden. Kernel stats are
  // hidden by default, and the mark for them shows them with a click;
  // focus events (focus.js) are shown only by choosing their op.
  function hiddenBefore(prev, at) {
    if (!marking) return null;
    const seqPrev = prev >= 0 ? events[prev].seq : 0;
    const jump = events[at].seq - seqPrev - 1;
    if (jump <= 0) return null;
    const n = at - prev - 1; // in the page, not shown
    let stats = 0;
    let focus = 0;
    const scan = Math.min(at, prev + 1 + 2000);
    for (let i = prev + 1; i < scan; i++) {
      if (events[i].op === "stats") stats++;
      else if (events[i].op === "focus") focus++;
    }
    const more = scan < at ? "+" : "";
    const parts = [];
    if (n > 0 && stats === n) parts.push(`${plural(n, "kernel stats event")} hidden`);
    else if (n > 0 && focus === n) parts.push(`${plural(n, "focus event")} (where the owner looks) not shown`);
    else if (n > 0) {
      const of = [stats && `${stats}${more} kernel stats`, focus && `${focus}${more} focus`].filter(Boolean).join(", ");
      parts.push(`${plural(n, "event")} hidden${of ? ` (${of})` : ""}`);
    }
    if (jump > n) parts.push(`${plural(jump - n, "event")} the page does not have`);
    // Any kernel stats among them: a click shows them, and the focus
    // events left between them keep a mark of their own.
    const mark = el(stats > 0 ? "button" : "span", "hidden-mark", `⋯ ${parts.join("; ")}`);
    mark.dataset.hidden = String(n);
    mark.dataset.jump = String(jump);
    if (focus === n && n > 0) mark.dataset.focus = "1";
    if (stats > 0) {
      mark.type = "button";
      mark.dataset.stats = "1";
      mark.title = "show the kernel stats events";
    }
    return mark;
  }

  // select shows one event: it is highlighted and scrolled into view (which
  // stops following), and the detail pane shows it whole.
  function select(seq, force = false) {
    if (seq === selected && !force) return; // hovering the same segment again
    selected = seq;
    const ev = findSeq(seq);
    const at = firstIndex(view.length, (j) => events[view[j]].seq >= seq);
    if (at < view.length && events[view[at]].seq === seq) {
      layout();
      const top = tops[at];
      if (top < scroller.scrollTop || top > scroller.scrollTop + scroller.clientHeight - ROW) {
        f.follow.checked = false;
        scroller.scrollTop = Math.max(0, top - scroller.clientHeight / 2);
      }
    }
    render(true);
    if (ev) onSelect(ev);
  }

  // forget drops the measured height of the row of seq.
  function forget(seq) {
    if (!heights.delete(seq)) return;
    const at = firstIndex(view.length, (j) => events[view[j]].seq >= seq);
    topsN = Math.min(topsN, at);
  }

  // findSeq finds an event by seq: the log is in seq order.
  function findSeq(seq) {
    return findEvent(events, seq) || undefined;
  }

  scroller.addEventListener("scroll", () => {
    // A user scrolling up stops following; back at the bottom resumes.
    f.follow.checked = atBottom();
    render(false);
  });
  rows.addEventListener("click", (e) => {
    if (e.target.closest(".hidden-mark[data-stats]")) {
      f.stats.checked = true;
      return refilter();
    }
    const r = e.target.closest(".ev");
    if (!r) return;
    // A click opens the row in place (or folds it), and always shows the
    // detail. The row opened before folds: measured again when drawn.
    const seq = Number(r.dataset.seq);
    forget(expanded);
    expanded = expanded === seq ? 0 : seq;
    forget(seq);
    select(seq, true);
  });
  for (const k of ["sock", "op", "errors", "stats"]) f[k].addEventListener("change", refilter);
  let searchTimer = 0;
  f.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refilter, 150);
  });
  f.python.addEventListener("change", () => {
    table.classList.toggle("python", f.python.checked);
    relayout();
    render(true);
  });
  f.follow.addEventListener("change", () => render(true));
  f.pause.addEventListener("click", () => {
    paused = !paused;
    f.pause.textContent = paused ? "resume" : "pause";
    f.pause.setAttribute("aria-pressed", String(paused));
    if (!paused) refilter();
    else render(true);
  });
  // A new width wraps the rows anew.
  let width = scroller.clientWidth;
  new ResizeObserver(() => {
    if (scroller.clientWidth === width) return;
    width = scroller.clientWidth;
    relayout();
    render(true);
  }).observe(scroller);

  // whereFirst sets a where filter, {label, test(ev)}, or clears it
  // (null), and shows the first event it keeps.
  function whereFirst(w) {
    setWhere(w);
    const first = w && events.find(w.test);
    if (first) select(first.seq, true);
  }

  return {
    push,
    gap,
    select,
    where: whereFirst,
    events,
    // When events last arrived: heavy views wait for a quiet moment.
    lastArrival: () => lastArrival,
  };
}
