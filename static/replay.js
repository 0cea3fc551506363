// A replay (templates/replay.templ, GET /replay): an exported session
// (export NDJSON) opened from a file, dropped or picked, or from
// ?src=URL, shown by every view of the page as it was: a prepared demo
// without live sockets, or a class's session read again afterwards.
//
// The file's messages go down the live path: the page's connection
// (connection.js feed) takes them as it takes the WebSocket's, so the
// state, the log, the views, netstat and the Python pane see no
// difference. The page is read-only as a watch page is (its controls
// are not drawn), and the one way out for an op, the connection's
// sendOp, refuses every op on a replay.
//
// An export is NDJSON: a hello line with the protocol's version, then
// the events in seq order (with gap lines where the log had dropped
// some), and the session's state as its last line. A file that is not
// one, is of another version, or is cut short is refused with a message
// saying which and where; nothing of it is shown.
//
// API
//   parseExport(text) → Promise of {hello, msgs, state, events}, or rejects
//                       with a ReplayError
//   initReplay({feed})  wires the replay bar; feed(msgs) is the connection's

import { el } from "./dom.js";
import { set, state } from "./state.js";

const PROTOCOL = 1; // the wire protocol this page reads (README: protocol v1)
const CHUNK = 4096; // lines read, and events fed, at once: the page draws between chunks

// pause lets the page draw and take input between chunks of a big file.
const pause = () => new Promise((r) => setTimeout(r, 0));

// ReplayError is a file that cannot be shown, and why.
export class ReplayError extends Error {}

const bad = (msg) => new ReplayError(msg);

// parseExport reads an export's text. Every line is checked: a replay
// shows the whole file or nothing.
export async function parseExport(text) {
  let hello = null;
  let end = null;
  let last = 0; // the seq of the last event, or the end of the last gap
  let events = 0;
  const msgs = [];
  // Line by line, without a copy of the whole text: a big file is read
  // in chunks, the page drawing in between.
  let n = 0;
  for (let at = 0; at < text.length; ) {
    let nl = text.indexOf("\n", at);
    const unended = nl < 0; // the last line, with no newline after it
    if (unended) nl = text.length;
    const raw = text.slice(at, nl);
    at = nl + 1;
    n++;
    if (n % CHUNK === 0) await pause();
    if (raw.includes("\u0000")) throw bad("it is not text (it holds NUL bytes): an export is NDJSON, one JSON object a line");
    const line = raw.trim();
    if (line === "") continue;
    let m;
    try {
      m = JSON.parse(line);
    } catch (e) {
      if (unended && hello) throw bad(`it is cut short: line ${n}, the last, stops in the middle of an event (the download did not finish?)`);
      throw bad(hello ? `line ${n} is not JSON (${e.message})` : `it is not a sockplay export: line ${n} is not JSON (${e.message})`);
    }
    if (m === null || typeof m !== "object" || Array.isArray(m)) throw bad(`line ${n} is not a JSON object: an export has one event or message a line`);
    if (end) throw bad(`line ${n} comes after the state line, which ends an export`);
    if (!hello) {
      if (m.type !== "hello") {
        if (typeof m.seq === "number" && typeof m.op === "string")
          throw bad("it has no hello line: it is an event stream (GET /api/sessions/ID/events), not an export; download the session with export NDJSON, which starts with a hello line saying the protocol");
        throw bad(`it is not a sockplay export: line ${n} is not its hello line`);
      }
      if (m.protocol === undefined) throw bad("its hello line says no protocol version: it is not an export of this sockplay");
      if (m.protocol !== PROTOCOL) throw bad(`it was written in protocol ${JSON.stringify(m.protocol)}; this page reads protocol ${PROTOCOL}`);
      hello = m;
      msgs.push(m);
      continue;
    }
    if (m.type === undefined) {
      if (!Number.isInteger(m.seq) || typeof m.op !== "string") throw bad(`line ${n} is neither an event (seq, op) nor a message (type)`);
      if (m.seq <= last) throw bad(`line ${n}: event ${m.seq} after event ${last}: events are in seq order`);
      if (m.seq !== last + 1) throw bad(`line ${n}: events ${last + 1}–${m.seq - 1} are missing, and no gap line says they were dropped`);
      last = m.seq;
      events++;
    } else if (m.type === "gap") {
      if (!Number.isInteger(m.from) || !Number.isInteger(m.to) || m.from !== last + 1 || m.to < m.from) throw bad(`line ${n}: a gap line for ${m.from}–${m.to} after event ${last}`);
      last = m.to;
    } else if (m.type === "state") {
      if (!Array.isArray(m.sockets)) throw bad(`line ${n}: the state line has no sockets`);
      end = m;
    } else {
      throw bad(`line ${n}: a message of type ${JSON.stringify(m.type)}, which an export does not hold`);
    }
    msgs.push(m);
  }
  if (!hello) throw bad("it is empty");
  if (!end) throw bad(`it is cut short: it ends after line ${n}${last ? ` (event ${last})` : ""} without the state line an export ends with (the download did not finish?)`);
  return { hello, msgs, state: end, events };
}

// initReplay wires the replay bar: a file dropped on the page or picked,
// or a URL (?src= when the page opens). One replay a page: another opens
// in a fresh one.
export function initReplay({ feed }) {
  const bar = document.getElementById("replay");
  const title = document.getElementById("replay-h");
  const about = document.getElementById("replay-about");
  const form = document.getElementById("replay-open");
  const file = document.getElementById("replay-file");
  const src = document.getElementById("replay-src");
  const error = document.getElementById("replay-error");
  const status = document.getElementById("replay-status");
  let busy = false;
  set({ conn: "replay" });

  function fail(name, msg) {
    error.textContent = `${name} cannot be replayed: ${msg}.`;
    error.hidden = false;
    status.textContent = "";
  }

  // open shows a file's text, or says why it cannot.
  async function open(name, read) {
    if (state.replayOf) {
      fail(name, `this page shows ${state.replayOf} already; open another in a new replay page (/replay)`);
      return;
    }
    if (busy) return;
    busy = true;
    error.hidden = true;
    status.textContent = `reading ${name}…`;
    try {
      const ex = await parseExport(await read());
      set({ replayOf: name, clockStopped: ex.state.now || 0 });
      bar.classList.add("open");
      title.textContent = `replay of ${name}`;
      const secs = ((ex.state.now || 0) / 1e6).toFixed(3);
      const ended = ex.state.ended ? ` It had ended${ex.state.end_reason ? ` (${ex.state.end_reason})` : ""}.` : "";
      about.textContent = `Session ${ex.hello.session || "?"} as exported: ${ex.events} events in ${secs} s.${ended} Read-only: nothing here runs. `;
      about.append(el("a", "", "open another"));
      about.lastChild.href = "/replay";
      form.hidden = true;
      for (let i = 0; i < ex.msgs.length; i += CHUNK) {
        feed(ex.msgs.slice(i, i + CHUNK));
        await pause();
      }
      status.textContent = "";
    } catch (e) {
      fail(name, e instanceof ReplayError ? e.message : `it could not be read (${e.message})`);
    } finally {
      busy = false;
    }
  }

  function openFile(f) {
    if (f) open(f.name, () => f.text());
  }

  function openURL(url) {
    open(url, async () => {
      let r;
      try {
        r = await fetch(url, { credentials: "same-origin" });
      } catch (e) {
        throw new ReplayError(`it could not be fetched (${e.message}; another site's file must allow it with CORS: download it and open the file instead)`);
      }
      if (!r.ok) {
        let why = r.statusText;
        try {
          const body = await r.clone().json();
          if (body.error) why = body.error.msg;
        } catch {
          /* not JSON: the status says it */
        }
        throw new ReplayError(`fetching it answered ${r.status} ${why}`);
      }
      return r.text();
    });
  }

  file.addEventListener("change", () => openFile(file.files[0]));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (file.files[0]) return openFile(file.files[0]);
    const url = src.value.trim();
    if (!url) return fail("nothing", "choose a file or give a URL");
    history.replaceState(null, "", `/replay?src=${encodeURIComponent(url)}`);
    openURL(url);
  });
  // A file dropped anywhere on the page opens, instead of the browser
  // leaving the page for it.
  document.addEventListener("dragover", (e) => {
    if (!e.dataTransfer || ![...e.dataTransfer.types].includes("Files")) return;
    e.preventDefault();
    bar.classList.add("dropping");
  });
  document.addEventListener("dragleave", (e) => {
    if (e.relatedTarget === null) bar.classList.remove("dropping");
  });
  document.addEventListener("drop", (e) => {
    if (!e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    bar.classList.remove("dropping");
    openFile(e.dataTransfer.files[0]);
  });

  const given = new URLSearchParams(location.search).get("src");
  if (given) {
    src.value = given;
    openURL(given);
  }
}
