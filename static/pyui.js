// The code pane and the console (templates/python.templ): a program in an
// editor whose lines lead to their events in the log (and a log row to
// its line), Run, Step and Stop, and a console with a >>> prompt whose
// variables live from line to line. What they show of a run, the code,
// its current line and the transcript, is read from the session's log
// (pymodel.js), so a watcher's page shows the same, read-only.

import * as python from "./py/python.js";
import { createPyModel } from "./pymodel.js";
import { el } from "./dom.js";
import { state } from "./state.js";

// The page is quiet enough to start Python when no more than QUIET_EVENTS
// events came in QUIET_MS; it starts LATEST_MS after the page is live
// in any case (a stream that never stops must not keep it from Python).
const QUIET_MS = 100;
const QUIET_EVENTS = 20;
const LATEST_MS = 3000;

// The code's top padding in px (style.css: .py-text textarea). Its line
// height is read from the page (it grows in presentation mode): every
// line is one, so that a line's place is arithmetic.
const PAD = 6;

// initPython wires the pane. log is the event log (where, select);
// pending() the session's pending calls; flash(msg) says what went wrong,
// unflash() takes it away as a run begins.
export function initPython({ readOnly, log, pending, flash, unflash }) {
  const $ = (id) => document.getElementById(id);
  const src = $("py-source");
  const gutter = $("py-gutter");
  const marks = $("py-marks");
  const transcript = $("py-transcript");
  const fileEl = $("py-file");
  const status = $("py-status");
  const model = createPyModel();
  const m = model.m;
  const examples = readOnly ? [] : JSON.parse($("python-examples").textContent);
  const edits = new Map(); // file → its code as last edited here
  let file = "main.py";
  let touched = false; // the code here is the user's choice: the log's program does not replace it
  let selected = 0; // the line a log row led to
  let st = python.state(); // what Python is doing (an owner's page)

  // ---- the code --------------------------------------------------------

  function setCode(name, code) {
    file = name;
    src.value = code;
    fileEl.textContent = name;
    src.scrollTop = 0;
    selected = 0;
    drawGutter();
    schedule();
  }

  // matches says whether the code shown is the program the log's events
  // came from: only then do its lines lead to them.
  function matches() {
    return !!m.program && m.program.file === file && src.value === m.program.source;
  }

  // The gutter's lines, and what each shows: drawing touches only the
  // lines that changed, as a fast program changes them every frame.
  let lines = [];
  let sized = null; // the geometry the gutter's lines have the heights of
  function drawGutter() {
    const n = src.value.split("\n").length;
    const g = geometry();
    if (n !== lines.length) {
      const frag = document.createDocumentFragment();
      lines = [];
      for (let i = 1; i <= n; i++) {
        const d = el("div", "ln", String(i));
        d.dataset.line = i;
        frag.append(d);
        lines.push({ d, calls: 0, mark: "" });
      }
      gutter.replaceChildren(frag);
      marked = "";
      sized = null;
    }
    if (sized !== g) {
      sized = g;
      lines.forEach((l, i) => (l.d.style.height = g.wraps ? `${g.heights[i]}px` : ""));
    }
    const mine = matches();
    lines.forEach((l, i) => {
      const calls = mine ? (m.byLine.get(i + 1) || []).length : 0;
      if (calls === l.calls) return;
      if (!calls !== !l.calls) l.d.classList.toggle("calls", calls > 0);
      l.calls = calls;
      l.d.title = calls ? `line ${i + 1}: ${calls} call${calls === 1 ? "" : "s"}; click to see ${calls === 1 ? "it" : "them"} in the log` : "";
    });
  }

  // current is the line the program is at: a call of it still pending,
  // the call a Step waits at, or the line of its last call.
  function current() {
    if (!matches()) return null;
    // The owner's page knows its Step's gate before the log says so.
    if (st.waitingAt && st.waitingAt.file === file) return { line: st.waitingAt.line, how: "gate" };
    const waiting = model.waitingLine(pending());
    if (waiting) return { line: waiting, how: "waiting" };
    const p = m.program;
    if (p.at && !p.ended) return { line: p.at.line, how: p.at.gate ? "gate" : "last" };
    return null;
  }

  // The line height, read once the page has its fonts and again when the
  // window changes (presentation mode makes it larger).
  let LINE = 0;
  const measure = () => (LINE = parseFloat(getComputedStyle(src).lineHeight) || 18);
  const relayout = () => {
    LINE = 0;
    geo = null;
    marked = "";
    schedule();
  };
  window.addEventListener("resize", relayout);
  // Presenting, and on the stage, the type grows and the column narrows.
  new MutationObserver(relayout).observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  new MutationObserver(relayout).observe($("app"), { attributes: true, attributeFilter: ["class"] });

  // geometry is where each line of the code is in the text's box: its top
  // and its height. On the stage a long line wraps (style.css), as the
  // column is narrow and the type large, and a line is as tall as it
  // wraps: that is measured on a copy of the code laid out as the box lays
  // it out. Elsewhere every line is one LINE high.
  let geo = null;
  const mirror = el("div", "py-mirror");
  mirror.setAttribute("aria-hidden", "true");
  src.parentElement.append(mirror);
  function geometry() {
    if (!LINE) measure();
    const cs = getComputedStyle(src);
    const wraps = cs.whiteSpace !== "pre";
    const width = src.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    if (geo && geo.text === src.value && geo.wraps === wraps && geo.width === width && geo.line === LINE) return geo;
    const rows = src.value.split("\n");
    geo = { text: src.value, wraps, width, line: LINE, tops: rows.map((_, i) => i * LINE), heights: rows.map(() => LINE) };
    if (!wraps) return geo;
    mirror.style.width = `${width}px`;
    mirror.replaceChildren(...rows.map((r) => el("div", "", r || " ")));
    [...mirror.children].forEach((d, i) => {
      geo.tops[i] = d.offsetTop;
      geo.heights[i] = d.offsetHeight;
    });
    mirror.replaceChildren();
    return geo;
  }
  let marked = ""; // what the marks show now
  let markedOn = null; // the geometry they were placed on
  let lastCurrent = 0;
  function drawMarks() {
    const cur = current();
    const sel = selected && matches() ? selected : 0;
    const key = `${sel} ${cur ? cur.line + cur.how : ""}`;
    const g = geometry();
    if (key === marked && g === markedOn) return;
    marked = key;
    markedOn = g;
    const bars = [];
    const bar = (line, cls) => {
      const b = el("div", "py-mark " + cls);
      b.dataset.line = line;
      b.style.top = `${PAD + (g.tops[line - 1] ?? (line - 1) * LINE)}px`;
      b.style.height = `${g.heights[line - 1] ?? LINE}px`;
      bars.push(b);
    };
    if (sel) bar(sel, "selected");
    if (cur) bar(cur.line, cur.how);
    marks.replaceChildren(...bars);
    marks.style.transform = `translate(${-src.scrollLeft}px, ${-src.scrollTop}px)`;
    // The gutter says why: the next call of a Step, or a call waiting.
    lines.forEach((l, i) => {
      const mark = cur && cur.line === i + 1 ? "current " + cur.how : "";
      if (mark === l.mark) return;
      l.d.className = `ln${l.calls ? " calls" : ""}${mark ? " " + mark : ""}`;
      l.mark = mark;
    });
    if (cur && cur.line !== lastCurrent) show(cur.line);
    lastCurrent = cur ? cur.line : 0;
  }

  // show scrolls the code so that line is in view.
  function show(line) {
    const g = geometry();
    const top = PAD + (g.tops[line - 1] ?? (line - 1) * LINE);
    const h = g.heights[line - 1] ?? LINE;
    if (top < src.scrollTop || top + h > src.scrollTop + src.clientHeight) src.scrollTop = Math.max(0, top - src.clientHeight / 3);
  }

  src.addEventListener("scroll", () => {
    gutter.scrollTop = src.scrollTop;
    marks.style.transform = `translate(${-src.scrollLeft}px, ${-src.scrollTop}px)`;
  });

  // A line that made calls leads to them: the log shows only its events.
  gutter.addEventListener("click", (e) => {
    const d = e.target.closest(".ln");
    if (!d) return;
    const line = Number(d.dataset.line);
    if (!matches() || !m.byLine.has(line)) return flash(matches() ? `line ${line} made no calls in this run` : "run the program: its lines then lead to their calls");
    selected = line;
    const p = m.program;
    log.where({ label: `line ${line} of ${p.file}`, test: (ev) => !!ev.origin && ev.origin.file === p.file && ev.origin.line === line && ev.seq >= p.seq });
    drawMarks();
  });

  // ---- the transcript ----------------------------------------------------

  const LABELS = {
    run: (t) => `── ${t} ──\n`,
    exit: (t) => `── ${t} ──\n`,
    stopped: (t) => `── ${t} ──\n`,
  };
  let drawn = []; // [entry, span, the text it shows] of the entries shown
  let drawnFrom = -1; // m.dropped when drawn
  function drawTranscript() {
    const last = drawn[drawn.length - 1];
    if (drawnFrom === m.dropped && drawn.length === m.transcript.length && (!last || last[2] === last[0].text)) return;
    const atEnd = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 24;
    if (drawnFrom !== m.dropped) {
      // Entries were let go of: draw what is kept afresh.
      drawn = [];
      transcript.replaceChildren();
      drawnFrom = m.dropped;
    }
    const text = (e) => (LABELS[e.kind] ? LABELS[e.kind](e.text) : e.text);
    if (drawn.length) {
      const d = drawn[drawn.length - 1];
      if (d[2] !== d[0].text) {
        d[1].textContent = text(d[0]);
        d[2] = d[0].text;
      }
    }
    const frag = document.createDocumentFragment();
    for (let i = drawn.length; i < m.transcript.length; i++) {
      const e = m.transcript[i];
      const span = el("span", "t-" + e.kind, text(e));
      drawn.push([e, span, e.text]);
      frag.append(span);
    }
    transcript.append(frag);
    if (atEnd) transcript.scrollTop = transcript.scrollHeight;
  }

  // ---- drawing, once a frame ---------------------------------------------

  // While a program or a console line runs, at most every EVERY ms: a
  // current line that moves sixty times a second cannot be read, and
  // drawing it would take the main thread from the rest of the page. Once
  // this page's Python is idle (a console line's answer is in), at the
  // next frame. A watcher's page does not know when the owner's Python
  // runs, and keeps to EVERY.
  const EVERY = 100;
  let timer = 0; // the throttle's wait before asking for a frame
  let framed = false; // a frame is asked for
  let last = 0;
  function draw() {
    framed = false;
    last = performance.now();
    drawGutter();
    drawMarks();
    drawTranscript();
    drawStatus();
  }
  function schedule() {
    if (framed) return;
    const wait = readOnly || st.busy ? Math.max(0, EVERY - (performance.now() - last)) : 0;
    if (timer) {
      if (wait > 0) return;
      clearTimeout(timer);
    }
    const frame = () => {
      timer = 0;
      framed = true;
      requestAnimationFrame(draw);
    };
    if (wait > 0) timer = setTimeout(frame, wait);
    else frame();
  }

  // push takes the session's events (all of them, in seq order).
  let started = readOnly;
  function push(evs) {
    if (!model.push(evs)) return;
    // A session that has used Python before (the page reloaded) starts
    // it at once, not at the first click.
    if (!started && m.transcript.length) {
      started = true;
      python.ready().catch(() => {});
    }
    const p = m.program;
    // A watcher follows every run; an owner's page takes the log's
    // program only until the user picks code of their own (a reloaded
    // page shows what ran last).
    if (p && (readOnly || !touched) && (p.file !== file || p.source !== src.value)) {
      setCode(p.file, p.source);
      if (!readOnly) {
        $("py-example").value = examples.some((x) => x.name === p.file) ? p.file : "main.py";
        about();
      }
    }
    schedule();
  }

  // reveal shows the line a log row's call was made at.
  function reveal(ev) {
    const o = ev.origin;
    if (!o || !o.line) return;
    if (o.file === "<console>") return;
    if (!matches() || o.file !== m.program.file || ev.seq < m.program.seq) return flash(`that call was made at line ${o.line} of ${o.file}, in a run whose code is not the one shown`);
    selected = o.line;
    show(o.line);
    drawMarks();
  }

  // ---- status and controls (an owner's page) -------------------------------

  function drawStatus() {
    const p = m.program;
    let s;
    if (readOnly) {
      if (!p) s = "nothing run yet";
      else if (!p.ended) s = p.at && p.at.gate ? `Step: waits at line ${p.at.line}` : "running";
      else s = p.ended.stopped ? "stopped" : p.ended.text ? `ended: ${p.ended.text}` : "ended";
    } else if (st.failed) s = st.failed;
    else if (st.loading) s = "loading Python…";
    else if (st.waitingAt) s = `line ${st.waitingAt.line} waits: Step makes its call`;
    else if (st.asking !== null) s = "input() waits for a line: type it below";
    else if (st.busy === "console") s = "the console runs a line…";
    else if (st.busy) s = `running ${st.file}…`;
    else if (p && p.ended && p.file === file) s = p.ended.stopped ? "stopped" : p.ended.text ? `ended: ${p.ended.text}` : "ended";
    else s = st.ready ? "ready" : "Python starts in a moment";
    if (status.textContent !== s) status.textContent = s;
  }

  if (readOnly) {
    src.readOnly = true;
    return { push, reveal, refresh: schedule };
  }

  const pick = $("py-example");
  const runB = $("py-run");
  const stepB = $("py-step");
  const stopB = $("py-stop");
  const line = $("py-line");
  const ps = $("py-ps");
  const noJSPI = $("py-nojspi");

  function about() {
    const x = examples.find((e) => e.name === file);
    const p = $("py-about");
    if (!x) return (p.textContent = "Your own program: write it here, then Run.");
    p.replaceChildren(el("strong", "", x.title + " "), x.about);
  }

  function choose(name) {
    edits.set(file, src.value);
    const x = examples.find((e) => e.name === name);
    setCode(name, edits.get(name) ?? (x ? x.source : "import socket\n\n"));
    about();
    drawStatus(); // "ended" was the program before's
  }
  pick.addEventListener("change", () => {
    touched = true;
    choose(pick.value);
  });

  src.addEventListener("input", () => {
    touched = true;
    edits.set(file, src.value);
    selected = 0;
    schedule();
  });
  src.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      runB.click();
    } else if (e.key === "Tab" && !e.shiftKey && !src.readOnly) {
      // Python is indented: Tab indents, as in an editor.
      e.preventDefault();
      document.execCommand("insertText", false, "    ");
    }
  });

  function start(step) {
    touched = true;
    edits.set(file, src.value);
    selected = 0;
    unflash();
    python.run(src.value, { filename: file, step }).catch((e) => flash(e.message));
  }
  runB.addEventListener("click", () => {
    if (st.busy === "step") return python.go();
    if (st.busy) return flash("Python is busy: Stop it first");
    start(false);
  });
  stepB.addEventListener("click", () => {
    if (st.waitingAt) return python.step();
    if (st.busy) return flash(st.busy === "step" ? "the program runs to its next call" : "Python is busy: Stop it first");
    start(true);
  });
  stopB.addEventListener("click", () => python.stop());

  // The worker is made as the page opens and fetches Pyodide meanwhile
  // (little CPU: the network, and a wasm compiled lazily). Python boots
  // once the page is live and quiet, so that it is there by the time the
  // pane is used, or LATEST_MS after the page is live if it never is;
  // using the pane before then starts it at once. Quiet: the boot takes
  // the cores of a small machine for a second, which a page drawing a
  // session's history, or a stream of events, would feel as long frames.
  python.prepare();
  const root = $("python");
  const load = () => python.ready().catch(() => {});
  root.addEventListener("focusin", load, { once: true });
  root.addEventListener("pointerdown", load, { once: true });
  let seen = -1;
  let liveAt = 0;
  const quiet = () => {
    const st = python.state();
    if (st.ready || st.loading || st.failed) return;
    const n = log.events.length;
    const live = state.conn === "live";
    if (live && !liveAt) liveAt = performance.now();
    if (live && ((seen >= 0 && n - seen <= QUIET_EVENTS) || performance.now() - liveAt >= LATEST_MS)) return load();
    seen = live ? n : -1;
    setTimeout(() => (window.requestIdleCallback ? requestIdleCallback(quiet, { timeout: QUIET_MS }) : quiet()), QUIET_MS);
  };
  quiet();

  // ---- the console's prompt, and input() --------------------------------------

  const history = [];
  let back = 0; // how far up the history the box is
  let more = false;
  let answer = null; // input()'s resolve, while it waits

  python.setInput(
    (prompt) =>
      new Promise((resolve) => {
        answer = resolve;
        ps.textContent = "input()";
        line.placeholder = "the program reads a line: type it, Enter (Ctrl+D: end of input)";
        line.focus();
        schedule();
      }),
  );

  function answered(text) {
    const a = answer;
    answer = null;
    line.placeholder = "";
    ps.textContent = more ? "..." : ">>>";
    a(text);
  }

  // Lines typed while Python loads, or while the console runs the line
  // before, wait their turn, as a terminal keeps what is typed ahead:
  // none is lost.
  const typedAhead = [];
  let draining = false;
  async function drain() {
    if (draining) return;
    draining = true;
    try {
      while (typedAhead.length) {
        const r = await python.push(typedAhead.shift(), more ? "... " : ">>> ");
        more = !!r.more;
        ps.textContent = more ? "..." : ">>>";
        if (r.exception === "Stopped") typedAhead.length = 0; // Stop drops what was typed ahead
      }
    } catch (err) {
      // A program started meanwhile (Run): what was typed ahead is not
      // its input, and it is said so rather than kept in silence.
      flash(`${typedAhead.length + 1} line(s) typed at the console were not run: ${err.message}`);
      typedAhead.length = 0;
    } finally {
      draining = false;
    }
  }

  $("py-prompt").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = line.value;
    line.value = "";
    if (answer) return answered(text);
    if (st.busy && st.busy !== "console" && !draining) return flash("a program is running: its input() reads here; to type at the console, wait for it or Stop it");
    if (text.trim()) history.push(text);
    back = 0;
    typedAhead.push(text);
    drain();
  });
  line.addEventListener("keydown", (e) => {
    if (e.key === "d" && e.ctrlKey && answer) {
      e.preventDefault();
      answered(null);
    } else if (e.key === "ArrowUp" && history.length && back < history.length) {
      e.preventDefault();
      back++;
      line.value = history[history.length - back];
    } else if (e.key === "ArrowDown" && back > 0) {
      e.preventDefault();
      back--;
      line.value = back ? history[history.length - back] : "";
    }
  });

  python.subscribe((s) => {
    const was = st;
    st = s;
    const busy = !!s.busy;
    src.readOnly = busy;
    root.classList.toggle("busy", busy);
    runB.textContent = s.busy === "step" ? "Run on" : "Run";
    runB.disabled = busy && s.busy !== "step";
    const steps = !s.jspi || s.jspi.can_run_sync;
    stepB.disabled = !steps || (busy && !s.waitingAt);
    stopB.disabled = !busy;
    pick.disabled = busy;
    noJSPI.hidden = !s.jspi || s.jspi.can_run_sync;
    if (was.busy && !busy && answer) answered(null);
    if (was.ready && !s.ready) more = false;
    if (!answer) ps.textContent = more ? "..." : ">>>";
    line.disabled = busy && s.busy !== "console" && s.asking === null;
    line.placeholder = line.disabled ? "a program is running: its input() reads here" : answer ? line.placeholder : "Python, a line at a time (↑ ↓: history)";
    schedule();
  });

  const first = examples[0];
  if (first) setCode(first.name, first.source);
  else setCode("main.py", "import socket\n\n");
  pick.value = file;
  about();

  return { push, reveal, refresh: schedule };
}
