// The record of Python in the session's log: what a program does besides
// its socket calls (its source as it starts, what it prints and reads,
// where a Step waits, how it ends) goes into the session's log as
// "python" ops, so that a watcher follows the program as its calls, and
// one who comes late, or the page reloaded, sees what came before.
//
// Records go in order, one request at a time. Output is gathered for a
// moment into one record (-max-ops-per-sec counts records too: a program
// printing a line per call must not halve its own calls); any other
// record first sends the output before it. A record refused for the rate
// limit is sent again a moment later.

const GATHER_MS = 40; // output gathered into one record at most this long
const MAX_TEXT = 64 << 10; // a record's text at most this long

export function createRecorder(session) {
  const queue = []; // records not yet sent: {kind, text, origin}
  let open = null; // the output record still taking text
  let timer = 0;
  let sending = null;
  let idleWaiters = [];

  function record(kind, text, origin) {
    if (kind === "stdout" || kind === "stderr") {
      if (open && open.kind === kind && open.origin.file === origin.file && open.text.length + text.length <= MAX_TEXT) {
        open.text += text;
        return;
      }
      close();
      open = { kind, text: text.slice(0, MAX_TEXT), origin };
      queue.push(open);
      timer = setTimeout(() => {
        close();
        pump();
      }, GATHER_MS);
      return;
    }
    close();
    queue.push({ kind, text: text || "", origin });
    pump();
  }

  function close() {
    open = null;
    clearTimeout(timer);
  }

  function pump() {
    if (sending) return;
    // The open output record waits for its moment unless something
    // follows it.
    if (!queue.length || queue[0] === open) return settle();
    const r = queue.shift();
    sending = post({ op: "python", kind: r.kind, text: r.text, origin: r.origin }).finally(() => {
      sending = null;
      pump();
    });
  }

  function settle() {
    if (queue.length) return;
    const ws = idleWaiters;
    idleWaiters = [];
    for (const w of ws) w();
  }

  async function post(op) {
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      let r;
      try {
        r = await fetch(`/api/sessions/${session}/ops`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(op) });
      } catch {
        return; // the server is gone: nobody to tell
      }
      if (r.status !== 429) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  // idle resolves once every record made so far is in the log.
  function idle() {
    close();
    pump();
    if (!queue.length && !sending) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  return { record, idle };
}
