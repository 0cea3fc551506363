// What the page knows of Python in the session, read from its log, so an
// owner's page and a watcher's show the same: the program run last (its
// file and source, how it runs, where it is), the console's transcript,
// and which of the session's events each line of the program made. The
// log's "python" records (static/py/record.js) and the origin of every
// other event are all it needs.

const MAX_ENTRIES = 4000; // transcript entries kept
const MAX_TEXT = 256 << 10; // transcript characters kept

export function createPyModel() {
  const m = {
    // {file, source, mode ("run" | "step"), seq (its record's), ended
    // (null while it runs; then {text} or {stopped: true}), at (where it
    // is: {line, seq, gate})}, or null before any program.
    program: null,
    transcript: [], // {kind, text}: console, stdout, stderr, stdin, run, exit, stopped
    dropped: 0, // transcript entries let go of, from the start
    byLine: new Map(), // the program's line → the seqs of the events it made
    version: 0, // counts changes
  };
  let textSize = 0;

  function say(kind, text) {
    const last = m.transcript[m.transcript.length - 1];
    if (last && last.kind === kind && (kind === "stdout" || kind === "stderr")) {
      last.text += text;
      last.v = m.version;
    } else {
      m.transcript.push({ kind, text, v: m.version });
    }
    textSize += text.length;
    while (m.transcript.length > MAX_ENTRIES || (textSize > MAX_TEXT && m.transcript.length > 1)) {
      textSize -= m.transcript.shift().text.length;
      m.dropped++;
    }
  }

  function python(ev) {
    const a = ev.args || {};
    const o = ev.origin || {};
    switch (a.kind) {
      case "run":
      case "step":
        m.program = { file: o.file || "main.py", source: a.text || "", mode: a.kind, seq: ev.seq, ended: null, at: null };
        m.byLine = new Map();
        say("run", m.program.file);
        return;
      case "console":
        say("console", (a.text || "") + "\n");
        return;
      case "stdout":
      case "stderr":
      case "stdin":
        say(a.kind, a.text || "");
        return;
      case "line":
        if (m.program && o.file === m.program.file) m.program.at = { line: o.line, seq: ev.seq, gate: true, thread: o.thread };
        return;
      case "exit":
        if (m.program && o.file === m.program.file && !m.program.ended) m.program.ended = { text: a.text || "" };
        say("exit", `${o.file || "the program"} ended${a.text ? ": " + a.text : ""}`);
        return;
      case "stopped":
        if (m.program && o.file === m.program.file && !m.program.ended) m.program.ended = { stopped: true };
        say("stopped", `${o.file === "<console>" ? "the console line" : o.file || "the program"} was stopped: Python starts afresh (the console's variables are gone)`);
        return;
    }
  }

  // push takes events in seq order; it says whether anything changed.
  function push(evs) {
    const before = m.version;
    for (const ev of evs) {
      if (ev.op === "python") {
        m.version++;
        python(ev);
        continue;
      }
      const o = ev.origin;
      const p = m.program;
      if (!o || !o.line || !p || o.file !== p.file || ev.seq < p.seq) continue;
      m.version++;
      let seqs = m.byLine.get(o.line);
      if (!seqs) m.byLine.set(o.line, (seqs = []));
      seqs.push(ev.seq);
      if (!p.ended) p.at = { line: o.line, seq: ev.seq, gate: false, thread: o.thread };
    }
    return m.version !== before;
  }

  // waitingLine is the line of the program's newest call still pending
  // (a blocking recv, say), from the session's pending calls.
  function waitingLine(pending) {
    const p = m.program;
    if (!p || p.ended) return 0;
    let best = null;
    for (const c of pending || []) {
      const o = c.origin;
      if (o && o.file === p.file && o.line && (!best || c.call > best.call)) best = c;
    }
    return best ? best.origin.line : 0;
  }

  return { m, push, waitingLine };
}
