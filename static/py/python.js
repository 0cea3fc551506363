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
// EOF), filename (default "main.py"), onStdout(text), onStderr(text) and
// onInput(prompt) → Promise of a line or null (asked once stdin is used
// up). One program runs at a time. stop() ends the run at once: the worker
// is terminated and a fresh one started; the sockets the program had open
// are closed, as they are when a process is killed.
// ready() loads Python (it starts on the first run otherwise) and
// resolves with {ms, jspi}: how long loading took, and whether
// pyodide.ffi.run_sync can block (JSPI).

const workerURL = new URL("./worker.js", import.meta.url);

let worker = null;
let readyP = null;
let current = null; // the run in progress
let session = null;

function sessionId() {
  if (session) return session;
  const app = document.getElementById("app");
  if (!app || !app.dataset.session) throw new Error("Python runs in a session's page (/s/ID); a watch page is read-only");
  return app.dataset.session;
}

// start makes the worker and loads Python in it.
function start() {
  if (readyP) return readyP;
  const id = sessionId();
  const w = new Worker(workerURL, { type: "module", name: "sockplay-python" });
  worker = w;
  readyP = new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      const m = e.data;
      if (m.type === "ready") resolve({ ms: m.ms, jspi: m.jspi });
      else if (m.type === "failed") reject(new Error(`Python did not start: ${m.error}`));
      else onMessage(m);
    };
    w.onerror = (e) => reject(new Error(`the Python worker failed: ${e.message}`));
  });
  readyP.catch(() => {
    if (worker === w) {
      worker = null;
      readyP = null;
    }
  });
  w.postMessage({ type: "init", session: id });
  return readyP;
}

function onMessage(m) {
  const r = current;
  if (!r) return;
  switch (m.type) {
    case "stdout":
    case "stderr":
      r[m.type].push(m.text);
      const cb = m.type === "stdout" ? r.opts.onStdout : r.opts.onStderr;
      if (cb) cb(m.text);
      return;
    case "sock":
      if (m.open) r.socks.add(m.sock);
      else r.socks.delete(m.sock);
      return;
    case "input":
      nextLine(r, m.prompt).then((line) => worker.postMessage({ type: "input", line }));
      return;
    case "done":
      finish(r, m.exception);
      // Threads still running after the program: their stacks would run
      // on in the next program, so it gets a fresh worker.
      if (m.threads > 0) restart();
      return;
  }
}

async function nextLine(r, prompt) {
  if (r.stdin.length) return r.stdin.shift();
  if (r.opts.onInput) return (await r.opts.onInput(prompt)) ?? null;
  return null;
}

function finish(r, exception) {
  if (current !== r) return;
  current = null;
  r.resolve({ stdout: r.stdout.join(""), stderr: r.stderr.join(""), exception });
}

function restart() {
  if (worker) worker.terminate();
  worker = null;
  readyP = null;
  return start();
}

export function ready() {
  return start();
}

export async function run(source, opts = {}) {
  if (typeof source !== "string") throw new TypeError("run(source): source must be a string");
  if (current) throw new Error("a Python program is already running: stop() it first");
  const r = { opts, stdout: [], stderr: [], socks: new Set(), stdin: [] };
  if (opts.stdin) {
    r.stdin = String(opts.stdin).split("\n");
    if (r.stdin[r.stdin.length - 1] === "") r.stdin.pop();
  }
  const done = new Promise((resolve) => (r.resolve = resolve));
  current = r;
  try {
    await start();
  } catch (e) {
    finish(r, { type: "InternalError", message: e.message });
    return done;
  }
  if (current === r) worker.postMessage({ type: "run", source, filename: opts.filename || "main.py" });
  return done;
}

// stop ends the running program at once.
export function stop() {
  const r = current;
  try {
    restart().catch(() => {});
  } catch {
    // Not a session's page: nothing to restart.
  }
  if (!r) return;
  finish(r, { type: "Stopped", message: "the program was stopped" });
  // A killed process's sockets are closed by its kernel; these are the
  // session's, so close them here (close never blocks: plain requests).
  for (const sock of r.socks) {
    fetch(`/api/sessions/${sessionId()}/ops`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ op: "close", sock }) }).catch(() => {});
  }
}

// useSession points the module at a session other than the page's.
export function useSession(id) {
  session = id;
}

window.sockplay = window.sockplay || {};
window.sockplay.python = { run, stop, ready };
