// Python in the page: window.sockplay.python.run(source, {stdin}) runs a
// program in the page's session, in a Web Worker (static/py/worker.js)
// that holds CPython (Pyodide), and resolves with what it printed and how
// it ended:
//
//   await sockplay.python.run('import socket\nprint(socket.gethostname())')
//   → {stdout: "...\n", stderr: "", exception: null}
//
// exception is null or {type, message} (type "Stopped" when stop() ended
// the run). Options: stdin (a string: input() reads its lines, then gets
// EOF), filename (default "main.py"), onStdout(text), onStderr(text),
// onInput(prompt) → a line or null (asked once stdin is used up; without
// stdin or onInput, input() asks the page's input box), and step (true:
// the program waits before each socket call until step() makes it). One
// program, or one console line, runs at a time. stop() ends it at once:
// the worker is terminated and a fresh one started; the sockets Python
// had open are closed, as they are when a process is killed.
//
// prepare() makes the worker, which fetches Pyodide and compiles its wasm
// but boots nothing until ready() (the page calls it as it opens: most of
// a first start is then done by the time Python is wanted).
// ready() loads Python (it starts on the first run otherwise) and
// resolves with {ms, jspi}: how long loading took, and what the browser
// can do (jspi.can_run_sync: Python can wait, so threads and Step work).
// push(line) enters a line at the console (resolves with {more,
// exception}: more while the statement goes on). step() makes the call a
// Step waits at and goes to the next; go() runs on without stopping.
// state() says what Python is doing ({ready, loading, failed, jspi, busy:
// null, "run", "step" or "console", file, waitingAt: the origin a Step
// waits at, asking: the prompt input() waits on}); subscribe(fn) calls
// fn(state()) whenever it changes.
//
// Everything a program does besides its socket calls is recorded in the
// session's log (record.js), so watchers see the code, the console and
// the current line.

import { createRecorder } from "./record.js";

const workerURL = new URL("./worker.js", import.meta.url);

let worker = null;
let readyP = null;
let session = null;
let recorder = null;
let current = null; // the run or console line in progress
let info = null; // what ready() said
let failed = null;
// The memory snapshot of a booted Python (snapshot.js): null before
// Python is ready; "booted" (this Python started from one), "making"
// (it booted afresh and makes one), then "saved" or "failed: why".
let snapshot = null;
const openSocks = new Set(); // sockets the worker's Python has open
const listeners = new Set();
let inputBox = null; // the page's input box: (prompt) → Promise of a line or null
let waitingAt = null; // in a Step, the origin of the call waiting at the gate
let asking = null; // the prompt input() waits on, or null

function sessionId() {
  if (session) return session;
  const app = document.getElementById("app");
  if (!app || !app.dataset.session) throw new Error("Python runs in a session's page (/s/ID); a watch page is read-only");
  return app.dataset.session;
}

function record(kind, text, origin) {
  if (!recorder) recorder = createRecorder(sessionId());
  recorder.record(kind, text, origin);
}

function idle() {
  return recorder ? recorder.idle() : Promise.resolve();
}

// state is what the page's controls show.
export function state() {
  return {
    loading: !!readyP && !info && !failed,
    ready: !!info,
    failed,
    jspi: info && info.jspi,
    busy: current ? current.kind : null, // "run", "step" or "console"
    file: current ? current.file : null,
    waitingAt,
    asking,
    snapshot,
  };
}

function changed() {
  const st = state();
  for (const fn of listeners) fn(st);
}

export function subscribe(fn) {
  listeners.add(fn);
  fn(state());
  return () => listeners.delete(fn);
}

// setInput makes box(prompt) answer input() for runs that bring no stdin
// of their own: the page's input box.
export function setInput(box) {
  inputBox = box;
}

// prepare makes the worker, if there is none: it fetches what Python
// needs and waits for start's init.
export function prepare() {
  if (worker) return worker;
  const w = new Worker(workerURL, { type: "module", name: "sockplay-python" });
  // A worker that fails before start listens (its script would not
  // load) says so to start, which would otherwise wait for it forever.
  w.onerror = (e) => (w.failedEarly = e.message || "its script did not load");
  worker = w;
  return w;
}

// start loads Python in the worker (making it if need be).
function start() {
  if (readyP) return readyP;
  const id = sessionId();
  const w = prepare();
  info = null;
  failed = null;
  snapshot = null;
  readyP = new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      const m = e.data;
      if (m.type === "ready") {
        info = { ms: m.ms, jspi: m.jspi, boot: m.boot };
        // Why a stored snapshot was not booted (damaged, say).
        if (m.snapshotError) info.snapshotError = m.snapshotError;
        snapshot = m.boot === "snapshot" ? "booted" : "making";
        resolve(info);
        changed();
      } else if (m.type === "failed") reject(new Error(`Python did not start: ${m.error}`));
      else onMessage(m);
    };
    w.onerror = (e) => reject(new Error(`the Python worker failed: ${e.message}`));
    if (w.failedEarly) reject(new Error(`the Python worker failed: ${w.failedEarly}`));
  });
  readyP.catch((e) => {
    if (worker === w) {
      worker = null;
      readyP = null;
      failed = e.message;
      changed();
    }
  });
  w.postMessage({ type: "init", session: id });
  changed();
  return readyP;
}

function onMessage(m) {
  switch (m.type) {
    case "snapshot":
      snapshot = m.saved ? "saved" : `failed: ${m.error}`;
      changed();
      return;
    case "sock":
      if (m.open) openSocks.add(m.sock);
      else openSocks.delete(m.sock);
      return;
  }
  const r = current;
  if (!r) return;
  switch (m.type) {
    case "stdout":
    case "stderr": {
      record(m.type, m.text, { file: r.file });
      if (r.kind === "console") return;
      r[m.type].push(m.text);
      const cb = m.type === "stdout" ? r.opts.onStdout : r.opts.onStderr;
      if (cb) cb(m.text);
      return;
    }
    case "input":
      asking = m.prompt;
      changed();
      nextLine(r, m.prompt).then((line) => {
        const text = line === null || line === undefined ? "" : String(line) + "\n";
        record("stdin", text, { file: r.file });
        asking = null;
        changed();
        if (current === r) worker.postMessage({ type: "input", text });
      });
      return;
    case "line":
      record("line", "", m.origin);
      idle().then(() => {
        if (current !== r) return;
        waitingAt = m.origin;
        changed();
      });
      return;
    // A run ends once its record is in the log: what a script reads of
    // the log after it has it all.
    case "done":
      record("exit", m.exception ? lastLine(m.exception) : "", { file: r.file });
      idle().then(() => finish(r, m.exception));
      return;
    case "console":
      idle().then(() => finish(r, null, { more: m.more, exception: m.exception }));
      return;
  }
}

function lastLine(exc) {
  return exc.message ? `${exc.type}: ${exc.message}` : exc.type;
}

async function nextLine(r, prompt) {
  if (r.stdin.length) return r.stdin.shift();
  if (r.opts.onInput) return (await r.opts.onInput(prompt)) ?? null;
  if (r.opts.stdin === undefined && inputBox) return (await inputBox(prompt)) ?? null;
  return null;
}

function finish(r, exception, answer) {
  if (current !== r) return;
  current = null;
  waitingAt = null;
  asking = null;
  if (r.kind === "console") r.resolve(answer || { more: false, exception: exception ? exception.type : null });
  else r.resolve({ stdout: r.stdout.join(""), stderr: r.stderr.join(""), exception });
  changed();
}

function restart() {
  if (worker) worker.terminate();
  worker = null;
  readyP = null;
  info = null;
  // A killed process's sockets are closed by its kernel; these are the
  // session's, so close them here (close never blocks: plain requests).
  for (const sock of openSocks) {
    fetch(`/api/sessions/${sessionId()}/ops`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ op: "close", sock }) }).catch(() => {});
  }
  openSocks.clear();
  return start();
}

export function ready() {
  return start();
}

function begin(kind, file, opts) {
  if (current) throw new Error(`Python is busy (${current.kind === "console" ? "a console line" : current.file} is running): stop() it first`);
  const r = { kind, file, opts, stdout: [], stderr: [], stdin: [] };
  r.done = new Promise((resolve) => (r.resolve = resolve));
  current = r;
  changed();
  return r;
}

export async function run(source, opts = {}) {
  if (typeof source !== "string") throw new TypeError("run(source): source must be a string");
  const filename = opts.filename || "main.py";
  const r = begin(opts.step ? "step" : "run", filename, opts);
  if (opts.stdin !== undefined) {
    r.stdin = String(opts.stdin).split("\n");
    if (r.stdin[r.stdin.length - 1] === "") r.stdin.pop();
  }
  try {
    await start();
  } catch (e) {
    finish(r, { type: "InternalError", message: e.message });
    return r.done;
  }
  // The source is in the log before the program's first call.
  record(r.kind, source, { file: filename });
  await idle();
  if (current === r) worker.postMessage({ type: "run", source, filename, step: !!opts.step });
  return r.done;
}

// push enters one line at the console, as typed after its prompt.
export async function push(line, prompt = ">>> ") {
  const r = begin("console", "<console>", {});
  try {
    await start();
  } catch (e) {
    finish(r, { type: "InternalError", message: e.message });
    return r.done;
  }
  record("console", prompt + line, { file: "<console>" });
  await idle();
  if (current === r) worker.postMessage({ type: "console", line });
  return r.done;
}

// step makes the call the Step waits at; the program goes on to the next.
export async function step() {
  if (!current || !waitingAt) return;
  const r = current;
  waitingAt = null;
  changed();
  // The line it waited at is in the log before the call's event.
  await idle();
  if (current === r) worker.postMessage({ type: "step" });
}

// go ends the Step: the program runs on without stopping.
export function go() {
  if (!current || current.kind !== "step") return;
  current.kind = "run";
  waitingAt = null;
  worker.postMessage({ type: "go" });
  changed();
}

// stop ends the running program or console line at once.
export function stop() {
  const r = current;
  if (r) record("stopped", "", { file: r.file });
  try {
    restart().catch(() => {});
  } catch {
    // Not a session's page: nothing to restart.
  }
  if (r) finish(r, { type: "Stopped", message: "the program was stopped" }, { more: false, exception: "Stopped" });
}

// useSession points the module at a session other than the page's.
export function useSession(id) {
  session = id;
  recorder = null;
}

window.sockplay = window.sockplay || {};
window.sockplay.python = { run, stop, ready, push, step, go, state };
