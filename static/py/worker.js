// The Python worker: one per tab. It loads Pyodide (CPython 3.14) from
// this server, installs sockplay's Python modules (socket, select, green
// threads, stdio) before any user code, and runs programs and the
// console's lines. It fetches what a start needs as soon as it exists,
// and boots Python when the page says so (init). A Python booted afresh leaves a memory snapshot of
// itself, made before any user code runs, from which the next worker in
// this browser starts instead (snapshot.js).
//
// Each socket call is an op to the session. With JSPI (WebAssembly
// JavaScript Promise Integration) it goes on the worker's own WebSocket,
// which carries only the answers to its ops (?replies=1), and Python
// waits for the event that carries its "reply" with pyodide.ffi.run_sync;
// that needs Python entered through callPromising, so every entry into
// Python here is one. Without JSPI, Python cannot wait for a promise: ops
// are synchronous requests (POST .../ops answers with the op's event once
// it is done), sleeps and input() block on requests too, and a program
// runs on one thread.
//
// Messages from the page:
//   {type: "init", session}                load Python; answers "ready" or "failed"
//   {type: "run", source, filename, step}  run a program (step: a call at a time); answers "done"
//   {type: "console", line}                a line typed at the console; answers "console"
//   {type: "input", text}                  what input() reads: a line with its "\n", or "" (EOF)
//   {type: "step"}                         in a Step, make the call waiting at the gate
//   {type: "go"}                           in a Step, run on without stopping
// To the page:
//   {type: "ready", ms, jspi, boot, snapshotError}
//                                          ms: time spent in each step of loading;
//                                          boot: "fresh" or "snapshot" (snapshot.js);
//                                          snapshotError: why a stored one was not used
//   {type: "snapshot", saved, bytes, ms, error}
//                                          after a fresh boot: its snapshot stored, or why not
//   {type: "failed", error}
//   {type: "stdout" | "stderr", text}      a line (or what was flushed)
//   {type: "input", prompt}                input() wants a line
//   {type: "sock", sock, open}             a socket the program opened (or closed)
//   {type: "line", origin}                 in a Step, the next call waits at origin's line
//   {type: "done", exception, threads}     exception: null or {type, message};
//                                          threads: its threads still alive, now ended
//   {type: "console", more, exception}     more: the statement goes on ("...")

import { pyodideBuild, pyodideURL, pyodideVersion, shimVersion } from "/static/pyodide/version.js";
import { dropSnapshot, loadSnapshot, saveSnapshot } from "./snapshot.js";

// The shim's modules, loaded into /lib/sockplay in this order.
const shimFiles = ["_sockplay.py", "_socket.py", "select.py", "_sockplay_thread.py", "_sockplay_run.py"];

// JSPI is what lets Python wait for a promise: Pyodide looks for it the
// same way.
const jspi = typeof WebAssembly.Suspending === "function";

// What a memory snapshot of this worker's Python is made from: the
// vendored files (their build: a snapshot holds the stdlib zip's directory
// as it read it), the shim, and how Python waits.
const snapshotKey = `${pyodideVersion} ${pyodideBuild} ${shimVersion} ${jspi ? "jspi" : "sync"}`;

let ws = null;
let nextId = 1;
const waiting = new Map(); // op id → resolve(raw reply text)
let inputWaiter = null;
const gates = []; // the Step's calls waiting to be made: resolve("step" | "go")
let py = null; // {pyodide, run, console}
let sessionID = null;
// The newest event seq this worker knows of: where a synchronous sleep's
// and input's requests start reading the log.
let knownSeq = 0;

const post = (m) => self.postMessage(m);
const opsURL = () => `/api/sessions/${sessionID}/ops`;
const refusal = (code, msg) => JSON.stringify({ type: "error", error: { code, msg } });

// The functions Python calls (module _sockplay_js). Those Python waits on
// (op, sleep, input, gate, waiter) return {promise}: a promise a JS
// function returns reaches Python as a Future of it, which costs turns of
// Python's event loop before Python may go on; one in an object stays the
// JS promise, which Python waits on directly (_sockplay.wait).
const bridge = {
  // op sends one op (JSON text without "id"); its promise resolves with
  // the raw text of its answer: the event with "reply", or an "error"
  // message. A socket that dropped (the server restarted, the network
  // blinked) is opened again for the next op; ops that were waiting on it
  // fail.
  op(json) {
    if (ws && ws.readyState === WebSocket.OPEN) return { promise: send(json) };
    return {
      promise: reconnect().then(
        () => send(json),
        (e) => refusal("not_connected", `the connection to the session is lost: ${e.message}`),
      ),
    };
  },
  // opSync is op without JSPI: a synchronous request, answered with the
  // op's event once the op is done. Refusals come as "error" messages, as
  // on the WebSocket.
  opSync(json) {
    const x = new XMLHttpRequest();
    x.open("POST", opsURL(), false);
    x.setRequestHeader("Content-Type", "application/json");
    try {
      x.send(json);
    } catch (e) {
      return refusal("not_connected", `the request to the session failed: ${e.message}`);
    }
    if (x.status === 200) {
      const m = /^\{"seq":(\d+)/.exec(x.responseText);
      if (m) knownSeq = Math.max(knownSeq, Number(m[1]));
      return x.responseText;
    }
    try {
      const { code, msg } = JSON.parse(x.responseText).error;
      return refusal(code, msg);
    } catch {
      return refusal(`http_${x.status}`, `the session answered ${x.status} ${x.statusText}`);
    }
  },
  sleep(seconds) {
    return { promise: new Promise((resolve) => later(resolve, seconds * 1000)) };
  },
  // sleepSync blocks for seconds without JSPI and without spinning: a
  // synchronous request may have a timeout in a worker, and the session's
  // event stream (?follow=1) answers nothing until something happens, so
  // the request waits until its timeout. Should it end early (the session
  // ended), the rest is waited out on the clock.
  sleepSync(seconds) {
    const end = performance.now() + Math.max(0, seconds) * 1000;
    let left;
    while ((left = end - performance.now()) > 1) {
      const x = new XMLHttpRequest();
      x.open("GET", `/api/sessions/${sessionID}/events?since=${knownSeq}&follow=1`, false);
      x.timeout = Math.ceil(left);
      try {
        x.send();
      } catch {
        continue; // the timeout: slept
      }
      while (performance.now() < end) {
        // The stream ended: nothing to block on any more.
      }
    }
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
      if (w.timer) w.timer.cancel();
      resolve(true);
      return true;
    };
    if (timeout >= 0) {
      w.timer = later(() => {
        if (!w.done) {
          w.done = true;
          resolve(false);
        }
      }, timeout * 1000);
    }
    return w;
  },
  // spawn starts a green thread: fn is entered through its own
  // callPromising, from a task of its own, so it has its own suspendable
  // stack.
  spawn(fn) {
    later(() => {
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
    return { promise: new Promise((resolve) => (inputWaiter = resolve)) };
  },
  // inputSync is input without JSPI: the page answers by putting the line
  // in the session's log (a python "stdin" record), which is read here.
  inputSync(prompt) {
    const since = knownSeq;
    post({ type: "input", prompt });
    for (;;) {
      const x = new XMLHttpRequest();
      x.open("GET", `/api/sessions/${sessionID}/events?since=${since}`, false);
      try {
        x.send();
      } catch {
        return "";
      }
      if (x.status !== 200) return "";
      for (const line of x.responseText.split("\n")) {
        if (!line.includes('"op":"python"')) continue;
        const ev = JSON.parse(line);
        if (ev.args && ev.args.kind === "stdin") {
          knownSeq = Math.max(knownSeq, ev.seq);
          return ev.args.text || "";
        }
      }
      bridge.sleepSync(0.1);
    }
  },
  // gate holds a call of a Step until the page says to make it; the
  // page is shown the line of the first call waiting.
  gate(origin) {
    return {
      promise: new Promise((resolve) => {
        gates.push({ origin: JSON.parse(origin), resolve });
        if (gates.length === 1) post({ type: "line", origin: gates[0].origin });
      }),
    };
  },
  sock(id, open) {
    post({ type: "sock", sock: id, open });
  },
};

// later(fn, ms) calls fn after ms, from a task that is no timer's, and
// returns {cancel}. Python runs in the task that wakes it, and a timer
// set from a timer's task, nested five deep, waits at least 4 ms (HTML's
// clamping): a loop of sleep(0.001), or of threads taking turns, would
// take 4 ms a turn. A message of this channel is a task of its own.
const wakeChannel = new MessageChannel();
const wakeQueue = [];
wakeChannel.port1.onmessage = () => {
  const fn = wakeQueue.shift();
  if (fn) fn();
};
function later(fn, ms) {
  const w = { cancelled: false, timer: 0 };
  const go = () => {
    wakeQueue.push(() => w.cancelled || fn());
    wakeChannel.port2.postMessage(0);
  };
  if (ms > 0) w.timer = setTimeout(go, ms);
  else go();
  return {
    cancel() {
      w.cancelled = true;
      clearTimeout(w.timer);
    },
  };
}

function send(json) {
  const id = nextId++;
  ws.send(`{"id":${id},${json.slice(1)}`);
  return new Promise((resolve) => waiting.set(id, resolve));
}

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

// openSocket opens the worker's WebSocket to the session: it carries the
// answers to this worker's ops and nothing else (?replies=1).
async function openSocket(session) {
  const since = await lastSeq(session);
  knownSeq = Math.max(knownSeq, since);
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
    const lost = refusal("not_connected", "the connection to the session was lost");
    for (const w of waiting.values()) w(lost);
    waiting.clear();
  };
  await new Promise((resolve, reject) => {
    sock.onopen = resolve;
    sock.onerror = () => reject(new Error("could not open the session's WebSocket"));
  });
  return sock;
}

// The bridge's parts as a memory snapshot names them: the Python of a
// snapshot holds the bridge module (and may hold its functions), which a
// later worker's own bridge stands in for.
function serializeRef(obj) {
  if (obj === bridge) return { bridge: "" };
  for (const [name, fn] of Object.entries(bridge)) if (fn === obj) return { bridge: name };
  throw new Error(`a memory snapshot cannot hold ${Object.prototype.toString.call(obj)}`);
}
const deserializeRef = (o) => (o.bridge ? bridge[o.bridge] : bridge);

// What a start needs that the session does not come into: Pyodide's
// loader and runtime, its wasm (compiled as it arrives), the standard
// library, the lock file, the shim's files and a stored snapshot. They
// are asked for as soon as the worker exists (the page makes it as it
// opens), so that by the time Python is to start (init) they are here,
// and the start is only the interpreter's boot. None of it is much CPU:
// V8 compiles the wasm's functions lazily, on their first call.
const wasmURL = new URL(pyodideURL + "pyodide.asm.wasm", self.location).href;
const core = prefetch();

function prefetch() {
  const get = (url) => fetch(url).then((r) => (r.ok ? r : Promise.reject(new Error(`${url}: ${r.status} ${r.statusText}`))));
  const c = {
    loader: import(pyodideURL + "pyodide.mjs"),
    // The module loadPyodide imports next (1.25 MB): in the module map by then.
    runtime: import(pyodideURL + "pyodide.asm.mjs"),
    wasm: WebAssembly.compileStreaming(get(wasmURL)),
    // A blob: URL stands in for the stdlib's own, which loadPyodide
    // fetches again (from memory, then).
    stdlib: get(pyodideURL + "python_stdlib.zip").then((r) => r.blob()),
    lock: get(pyodideURL + "pyodide-lock.json").then((r) => r.text()),
    shim: Promise.all(shimFiles.map((f) => get(new URL(`./lib/${f}`, import.meta.url)).then((r) => r.text()))),
    stored: loadSnapshot(snapshotKey).catch((e) => e),
  };
  // Failures are init's to report, not unhandled meanwhile.
  for (const p of Object.values(c)) p.catch(() => {});
  return c;
}

// withWasm runs fn (a loadPyodide) so that Pyodide instantiates the wasm
// compiled by prefetch instead of compiling its own: Emscripten's loader
// passes WebAssembly.instantiateStreaming the response of its own fetch
// of the same URL (from the HTTP cache by then), whose body is dropped.
// Any other instantiation, or a Pyodide that loads its wasm another way,
// goes on as it would.
async function withWasm(module, fn) {
  const streaming = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = async (source, imports) => {
    const r = await source;
    if (!(r instanceof Response) || r.url !== wasmURL) return streaming.call(WebAssembly, r, imports);
    r.body?.cancel().catch(() => {});
    return { module, instance: await WebAssembly.instantiate(module, imports) };
  };
  try {
    return await fn();
  } finally {
    WebAssembly.instantiateStreaming = streaming;
  }
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
  const [{ loadPyodide }, , wasm, stdlib, lock, shim, stored, sock] = await Promise.all([
    core.loader,
    core.runtime,
    core.wasm,
    core.stdlib,
    core.lock,
    core.shim,
    core.stored,
    jspi ? openSocket(session) : lastSeq(session).then((s) => void (knownSeq = s)),
  ]);
  ws = sock || null;
  // What was still on its way, and the session's socket.
  lap("fetch");
  const stdLibURL = URL.createObjectURL(stdlib);
  const options = { indexURL: pyodideURL, stdLibURL, lockFileContents: lock, packages: [], env: { HOME: "/home/pyodide" } };
  const load = (opts) => withWasm(wasm, () => loadPyodide(opts));
  let booted = null;
  let snapshotError = stored instanceof Error ? String(stored) : null;
  const snap = stored instanceof Error ? null : stored;
  try {
    if (snap) {
      try {
        booted = await fromSnapshot(load, options, snap, shim, lap);
      } catch (e) {
        // Not a snapshot this Python can start from after all (damaged, or
        // the browser changed under it): boot afresh, which makes a new one.
        snapshotError = String(e);
        dropSnapshot(snapshotKey).catch(() => {});
      }
    }
    if (!booted) booted = await fresh(load, options, shim, lap);
  } finally {
    URL.revokeObjectURL(stdLibURL);
  }
  const { pyodide, info } = booted;
  lap("shim");
  py = { pyodide, run: pyodide.runPython("_sockplay_run.run"), console: pyodide.runPython("_sockplay_run.console"), sync: !info.can_run_sync };
  return { ms, jspi: info, boot: booted.boot, snapshotError };
}

// shimFS puts the shim's files in Python's file system, which is the
// worker's and not in a memory snapshot: imports and tracebacks read them.
function shimFS(pyodide, shim) {
  pyodide.FS.mkdirTree("/lib/sockplay");
  shimFiles.forEach((f, i) => pyodide.FS.writeFile(`/lib/sockplay/${f}`, shim[i]));
}

// fresh boots CPython and installs the shim.
async function fresh(load, options, shim, lap) {
  const pyodide = await load({ ...options, _makeSnapshot: true });
  lap("boot");
  shimFS(pyodide, shim);
  pyodide.registerJsModule("_sockplay_js", bridge);
  const install = pyodide.runPython(`
import sys
sys.path.insert(0, "/lib/sockplay")
import _sockplay_run
_sockplay_run.install
`);
  const info = await probe(pyodide);
  // Installing imports threading and socket, which may block on nothing
  // yet; with JSPI it is entered as everything else is.
  if (info.can_run_sync) await install.callPromising(false);
  else install(true);
  install.destroy();
  return { pyodide, info, boot: "fresh" };
}

// fromSnapshot starts the Python a fresh boot left in snap: the shim is
// installed already, and what differs from one Python to the next is set
// afresh (_sockplay_run.restored).
async function fromSnapshot(load, options, snap, shim, lap) {
  const pyodide = await load({ ...options, _loadSnapshot: snap, _snapshotDeserializer: deserializeRef });
  lap("boot");
  shimFS(pyodide, shim);
  pyodide.runPython("import _sockplay_run; _sockplay_run.restored()");
  const info = await probe(pyodide);
  if (info.can_run_sync !== jspi) throw new Error("the snapshot's Python cannot wait as this browser's can");
  return { pyodide, info, boot: "snapshot" };
}

// probe asks Python what it can do: can_run_sync() called plainly and
// through callPromising, where only the second may be true (JSPI needs
// Python entered through a promising call).
async function probe(pyodide) {
  const probe = pyodide.runPython("import _sockplay_run; _sockplay_run.probe");
  const info = { suspending: jspi, plain: JSON.parse(probe()).can_run_sync };
  Object.assign(info, JSON.parse(jspi ? await probe.callPromising() : probe()));
  probe.destroy();
  return info;
}

// keep makes the memory snapshot of a freshly booted Python, before any
// of the user's code runs, and stores it for the next worker.
async function keep() {
  const t = performance.now();
  try {
    const snapshot = py.pyodide.makeMemorySnapshot({ serializer: serializeRef });
    const made = Math.round(performance.now() - t);
    // Storing it (its checksum, 70 ms of CPU, and its copy into
    // IndexedDB) waits until Python has been idle a moment: the first
    // lines typed at the console, or a program, run first.
    // From now: the page's first line is on its way.
    lastRan = performance.now();
    await idle(SAVE_IDLE_MS, SAVE_LATEST_MS);
    const t1 = performance.now();
    await saveSnapshot(snapshotKey, snapshot);
    post({ type: "snapshot", saved: true, bytes: snapshot.length, ms: { make: made, save: Math.round(performance.now() - t1) } });
  } catch (e) {
    post({ type: "snapshot", saved: false, error: String(e) });
  }
}

// A new snapshot is stored once no program or console line has run for
// SAVE_IDLE_MS, or SAVE_LATEST_MS after it was made at the latest (a
// program that runs on and on is slowed once, not kept from it).
const SAVE_IDLE_MS = 300;
const SAVE_LATEST_MS = 5000;
let running = 0; // programs and console lines in progress
let lastRan = 0; // when the last one started or ended

// idle resolves once Python has run nothing for ms, or after latest ms.
function idle(ms, latest) {
  const end = performance.now() + latest;
  return new Promise((resolve) => {
    const check = () => {
      const now = performance.now();
      const quiet = running === 0 && now - lastRan >= ms;
      if (quiet || now >= end) return resolve();
      setTimeout(check, running ? ms : Math.max(1, ms - (now - lastRan)));
    };
    check();
  });
}

// entered marks a program or console line as started (+1) or ended (-1).
function entered(d) {
  running += d;
  lastRan = performance.now();
}

// enter calls into Python as every entry must be made: through
// callPromising where Python may wait on promises, plainly where not.
function enter(fn, ...args) {
  return py.sync ? Promise.resolve().then(() => fn(...args)) : fn.callPromising(...args);
}

self.onmessage = async (e) => {
  const m = e.data;
  switch (m.type) {
    case "init":
      try {
        const { ms, jspi: info, boot, snapshotError } = await init(m.session);
        post({ type: "ready", ms, jspi: info, boot, snapshotError });
        // In this task still: no message (no user code) is taken before
        // the snapshot is made.
        if (boot === "fresh") keep();
      } catch (err) {
        post({ type: "failed", error: String(err && err.stack ? err.stack : err) });
      }
      return;
    case "run": {
      let res;
      entered(1);
      try {
        res = JSON.parse(await enter(py.run, m.source, m.filename || "main.py", !!m.step && !py.sync));
      } catch (err) {
        res = { exception: { type: "InternalError", message: String(err) }, threads: 0 };
      } finally {
        entered(-1);
      }
      // Gates of threads the program's end stopped.
      gates.splice(0).forEach((g) => g.resolve("go"));
      post({ type: "done", exception: res.exception || null, threads: res.threads || 0 });
      return;
    }
    case "console": {
      let res;
      entered(1);
      try {
        res = JSON.parse(await enter(py.console, m.line));
      } catch (err) {
        res = { more: false, exception: "InternalError" };
        post({ type: "stderr", text: `sockplay: the console failed: ${err}\n` });
      } finally {
        entered(-1);
      }
      post({ type: "console", more: res.more, exception: res.exception });
      return;
    }
    case "input": {
      const w = inputWaiter;
      inputWaiter = null;
      if (w) w(m.text);
      return;
    }
    case "step": {
      const g = gates.shift();
      if (g) g.resolve("step");
      if (gates.length) post({ type: "line", origin: gates[0].origin });
      return;
    }
    case "go":
      gates.splice(0).forEach((g) => g.resolve("go"));
      return;
  }
};
