// Where the owner looks, for a class following through the watch link.
// The owner's page tells the session with the engine's `focus` op
// (sockets/ops_focus.go) when the socket in use, the view, the lesson step
// or the line of code changes: paced, and never when nothing changed. A
// watch page follows the session's focus (state.focus: the "state"
// message on joining, the focus events live) until its watcher looks
// elsewhere (clicks another socket or view); the header's "follow
// teacher" toggle (header.js) sets state.following back.

import { on, set, state } from "./state.js";

const QUIET = 300; // ms the focus stays put before it is said
const EVERY = 400; // ms at least between two focus ops: a few a second at most
const LONGEST = 1000; // ms a focus that keeps moving (a line typed at) waits at most

// focusOf is the page's focus as the op takes it, empty parts left out
// (as the server's JSON leaves them out, so the two compare as text).
export function focusOf(s) {
  const f = {};
  if (s.sock) f.sock = s.sock;
  if (s.view) f.view = s.view;
  if (s.lesson) {
    f.lesson = s.lesson.id;
    if (s.lesson.step) f.step = s.lesson.step;
  }
  if (s.file && s.line) {
    f.file = s.file;
    f.line = s.line;
  }
  return f;
}

// focusText is a focus as the header says it.
export function focusText(f) {
  if (!f) return "";
  const parts = [];
  if (f.sock) parts.push(f.sock);
  if (f.view) parts.push(f.view);
  if (f.lesson) parts.push(`lesson ${f.lesson}, step ${(f.step || 0) + 1}`);
  if (f.file) parts.push(`${f.file} line ${f.line}`);
  return parts.join(" · ");
}

// initFocus wires the page's side: sendOp(op) on an owner's page, which
// says its focus; on a watch page it follows.
export function initFocus({ sendOp }) {
  if (state.readOnly) follow();
  else tell(sendOp);
}

// tell sends the owner's focus when it has changed and stayed put a
// moment (or kept moving for a second), at most every EVERY ms.
function tell(sendOp) {
  watchCode();
  let said = JSON.stringify(focusOf(state)); // the page as it opens is no change
  let timer = 0;
  let since = 0; // when the focus first changed since it was last said
  let lastSent = -Infinity;

  function schedule() {
    const now = performance.now();
    if (!since) since = now;
    clearTimeout(timer);
    const settle = now - since > LONGEST - QUIET ? 0 : QUIET;
    timer = setTimeout(send, Math.max(settle, EVERY - (now - lastSent)));
  }

  function send() {
    timer = 0;
    if (state.conn !== "live") return; // said when the connection is back (below)
    since = 0;
    const f = focusOf(state);
    const key = JSON.stringify(f);
    if (key === said || key === JSON.stringify(state.focus || {})) {
      said = key;
      return;
    }
    said = key;
    lastSent = performance.now();
    sendOp({ op: "focus", focus: f }).catch(() => {
      said = ""; // not said: say it again at the next chance
    });
  }

  on(["sock", "view", "lesson", "file", "line"], schedule);
  on("conn", (s) => {
    if (s.conn === "live" && JSON.stringify(focusOf(s)) !== said) schedule();
  });
}

// follow makes a watch page look where the owner looks while
// state.following, and stops following when its watcher clicks another
// socket or view.
function follow() {
  let applying = false;
  const differs = () => {
    const f = state.focus;
    return !!f && ((f.sock && f.sock !== state.sock) || (f.view && f.view !== state.view));
  };

  function apply(s) {
    const f = s.focus;
    if (!s.following || !f) return;
    const patch = {};
    if (f.sock) patch.sock = f.sock;
    if (f.view && document.getElementById(`tab-${f.view}`)) patch.view = f.view;
    applying = true;
    try {
      set(patch);
    } finally {
      applying = false;
    }
    showLine(f.file, f.line);
  }
  on(["focus", "following"], apply);

  // Bubbling to the document, a click comes after the card's or tab's
  // own handler has chosen: if the watcher's page now shows something
  // else than the owner's, the watcher looks on their own.
  document.addEventListener("click", (e) => {
    if (!e.isTrusted || applying || !state.following) return;
    if (!e.target.closest("#sockets .sock-card, #views [role=tab]")) return;
    if (differs()) set({ following: false });
  });
  // The line mark goes when the gutter is drawn anew (another program).
  const gutter = document.getElementById("py-gutter");
  if (gutter)
    new MutationObserver(() => {
      if (state.following && state.focus) showLine(state.focus.file, state.focus.line, false);
    }).observe(gutter, { childList: true });
}

// showLine marks the owner's line of code in the gutter and scrolls the
// code to it, if the program shown is that file.
function showLine(file, line, scroll = true) {
  const gutter = document.getElementById("py-gutter");
  const src = document.getElementById("py-source");
  if (!gutter || !src) return;
  for (const d of gutter.querySelectorAll(".ln[data-teacher]")) delete d.dataset.teacher;
  const fileEl = document.getElementById("py-file");
  if (!file || !line || (fileEl && fileEl.textContent !== file)) return;
  const d = gutter.querySelector(`.ln[data-line="${line}"]`);
  if (!d) return;
  d.dataset.teacher = "";
  if (!scroll) return;
  // The gutter's line is as tall as the code's line (wrapped on the
  // stage), and scrolls with it: where it is in the gutter is where the
  // line is in the code.
  const top = d.getBoundingClientRect().top - gutter.getBoundingClientRect().top + gutter.scrollTop;
  const h = d.getBoundingClientRect().height;
  if (top < src.scrollTop || top + h > src.scrollTop + src.clientHeight) src.scrollTop = Math.max(0, top - src.clientHeight / 3);
}

// watchCode keeps state.file and state.line on the line the owner's
// cursor is at in the code pane, or the line clicked in its gutter.
function watchCode() {
  const src = document.getElementById("py-source");
  const fileEl = document.getElementById("py-file");
  if (!src) return;
  const at = () => {
    const line = src.value.slice(0, src.selectionStart).split("\n").length;
    set({ file: (fileEl && fileEl.textContent) || "", line });
  };
  for (const ev of ["keyup", "click", "focus", "select"]) src.addEventListener(ev, at);
  const gutter = document.getElementById("py-gutter");
  if (gutter)
    gutter.addEventListener("click", (e) => {
      const d = e.target.closest(".ln");
      if (d) set({ file: (fileEl && fileEl.textContent) || "", line: Number(d.dataset.line) });
    });
}

