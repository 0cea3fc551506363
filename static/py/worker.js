// The Python worker: one per tab. It loads Pyodide (CPython 3.14) from
// this server, installs sockplay's Python modules (socket, select, green
// threads, stdio) before any user code, and runs programs. Each socket call
// is an op on the worker's own WebSocket to the session, answered by the
// event that carries its "reply"; Python waits for it with
// pyodide.ffi.run_sync, which needs JSPI and Python entered through
// callPromising, so every entry into Python here is one.
//
// Messages from the page:
//   {type: "init", session}            load Python; answers "ready" or "failed"
//   {type: "run", source, filename}    run a program; answers "done"
//   {type: "input", line}              the answer to "input" (null: EOF)
// To the page:
//   {type: "ready", ms, jspi}          ms: time spent in each step of loading
//   {type: "failed", error}
//   {type: "stdout" | "stderr", text}  a line (or what was flushed)
//   {type: "input", prompt}            input() wants a line
//   {type: "sock", sock, open}         a socket the program opened (or closed)
//   {type: "done", exception, threads} exception: null or {type, message};
//                                      threads: green threads still alive

import { pyodideURL } from "/static/pyodide/version.js";

// The shim's modules, loaded into /lib/sockplay in this order.
const shimFiles = ["_sockplay.py", "_socket.py", "select.py", "_sockplay_thread.py", "_sockplay_run.py"];

let ws = null;
let nextId = 1;
const waiting = new Map(); // op id → resolve(raw reply text)
let inputWaiter = null;
let py = null; // {pyodide, run}

const post = (m) => self.postMessage(m);

// The functions Python calls (module _sockplay_js).
const bridge = {
  // op sends one op (JSON text without "id") and resolves with the raw
  // text of its answer: the event with "reply", or an "error" message.
  // A socket that dropped (the server restarted, the network blinked) is
  // opened again for the next op; ops that were waiting on it fail.
  op(json) {
    if (ws && ws.readyState === WebSocket.OPEN) return send(json);
    return reconnect().then(
      () => send(json),
      (e) => JSON.stringify({ type: "error", error: { code: "not_connected", msg: `the connection to the session is lost: ${e.message}` } }),
    );
  },
  sleep(seconds) {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds * 1000)));
  },
  // waiter is a one-shot wake-up for a green lock or join: wake() resolves
  // it with true unless its timeout (seconds; negative: none) came first
  // and resolved it with false. wake() says whether it woke it.
  waiter(timeout) {
    let resolve;
    const w = { done: false };
    w.promise = new Promise((r) => (resolve = r));
    w.wake = () => {
      if (w.done) return false;
      w.done = true;
      clearTimeout(w.timer);
      resolve(true);
      return true;
    };
    if (timeout >= 0) {
      w.timer = setTimeout(() => {
        if (!w.done) {
          w.done = true;
          resolve(false);
        }
      }, timeout * 1000);
    }
    return w;
  },
  // spawn starts a green thread: fn is entered through its own
  // callPromising, from a timer, so it has its own suspendable stack.
  spawn(fn) {
    setTimeout(() => {
      fn.callPromising()
        .catch((e) => post({ type: "stderr", text: `sockplay: a thread failed: ${e}\n` }))
        .finally(() => fn.destroy());
    }, 0);
  },
  write(stream, text) {
    post({ type: stream, text });
  },
  input(prompt) {
    post({ type: "input", prompt });
    return new Promise((resolve) => (inputWaiter = resolve));
  },
  sock(id, open) {
    post({ type: "sock", sock: id, open });
  },
  hostname() {
    return self.location.hostname;
  },
};

function send(json) {
  const id = nextId++;
  ws.send(`{"id":${id},${json.slice(1)}`);
  return new Promise((resolve) => waiting.set(id, resolve));
}

let sessionID = null;
let reconnecting = null;
function reconnect() {
  if (!reconnecting) {
    reconnecting = openSocket(sessionID).then((s) => (ws = s)).finally(() => (reconnecting = null));
  }
  return reconnecting;
}

async function lastSeq(session) {
  const r = await fetch(`/api/sessions/${session}`, { cache: "no-store" });
  if (!r.ok) throw new Error(`session ${session}: ${r.status} ${await r.text()}`);
  return (await r.json()).last_seq;
}

// openSocket opens the worker's WebSocket to the session from its newest
// event on: events of other clients and control messages are skipped
// without being parsed; only answers to this worker's ops are read.
async function openSocket(session) {
  const since = await lastSeq(session);
  const proto = self.location.protocol === "https:" ? "wss:" : "ws:";
  const sock = new WebSocket(`${proto}//${self.location.host}/api/sessions/${session}/ws?since=${since}&replies=1`);
  sock.onmessage = (m) => {
    const s = m.data;
    let id;
    if (s.startsWith('{"reply":')) id = parseInt(s.slice(9), 10);
    else if (s.startsWith('{"type":"error"')) id = JSON.parse(s).reply;
    else return;
    const w = waiting.get(id);
    if (w) {
      waiting.delete(id);
      w(s);
    }
  };
  sock.onclose = () => {
    const lost = '{"type":"error","error":{"code":"not_connected","msg":"the connection to the session was lost"}}';
    for (const w of waiting.values()) w(lost);
    waiting.clear();
  };
  await new Promise((resolve, reject) => {
    sock.onopen = resolve;
    sock.onerror = () => reject(new Error("could not open the session's WebSocket"));
  });
  return sock;
}

async function init(session) {
  sessionID = session;
  const ms = {};
  let t = performance.now();
  const lap = (name) => {
    const now = performance.now();
    ms[name] = Math.round((now - t) * 10) / 10;
    t = now;
  };
  const [{ loadPyodide }, sock, shim] = await Promise.all([
    import(pyodideURL + "pyodide.mjs"),
    openSocket(session),
    Promise.all(shimFiles.map((f) => fetch(new URL(`./lib/${f}`, import.meta.url)).then((r) => (r.ok ? r.text() : Promise.reject(new Error(`${f}: ${r.status}`)))))),
  ]);
  ws = sock;
  lap("fetch");
  const pyodide = await loadPyodide({ indexURL: pyodideURL, packages: [], env: { HOME: "/home/pyodide" } });
  lap("boot");
  pyodide.FS.mkdirTree("/lib/sockplay");
  shimFiles.forEach((f, i) => pyodide.FS.writeFile(`/lib/sockplay/${f}`, shim[i]));
  pyodide.registerJsModule("_sockplay_js", bridge);
  const install = pyodide.runPython(`
import sys
sys.path.insert(0, "/lib/sockplay")
import _sockplay_run
_sockplay_run.install
`);
  // Installing imports threading and socket, which may block on nothing
  // yet; it is entered as everything else is, through callPromising.
  await install.callPromising();
  install.destroy();
  const run = pyodide.runPython("_sockplay_run.run");
  // can_run_sync() called plainly and through callPromising: only the
  // second may be true (JSPI needs Python entered through a promising call).
  const probe = pyodide.runPython("_sockplay_run.probe");
  const jspi = { plain: JSON.parse(probe()).can_run_sync, ...JSON.parse(await probe.callPromising()) };
  probe.destroy();
  lap("shim");
  py = { pyodide, run };
  return { ms, jspi };
}

self.onmessage = async (e) => {
  const m = e.data;
  switch (m.type) {
    case "init":
      try {
        const { ms, jspi } = await init(m.session);
        post({ type: "ready", ms, jspi });
      } catch (err) {
        post({ type: "failed", error: String(err && err.stack ? err.stack : err) });
      }
      return;
    case "run": {
      let res;
      try {
        res = JSON.parse(await py.run.callPromising(m.source, m.filename || "main.py"));
      } catch (err) {
        res = { exception: { type: "InternalError", message: String(err) }, threads: 0 };
      }
      post({ type: "done", exception: res.exception || null, threads: res.threads || 0 });
      return;
    }
    case "input": {
      const w = inputWaiter;
      inputWaiter = null;
      // undefined is None in Python (null would be jsnull): end of input.
      if (w) w(m.line === null ? undefined : m.line);
      return;
    }
  }
};
