// The page's one WebSocket to its session. Ops go out with an id and are
// answered by the event that carries it back; events come in seq order,
// as binary batches (wire.js), and control messages as JSON text. It keeps
// the session's part of the page's state (state.js) as the server says
// it, and reconnects, resuming after the last event taken in. A replay
// feeds it a file's messages instead, down the same path.

import { resultText } from "./event.js";
import { flash, unflash } from "./flash.js";
import { set, state } from "./state.js";
import { decodeBatch } from "./wire.js";

// createConnection makes the connection; connect() opens it. onEvents
// (events) takes each batch of new events, in seq order; onGap(from, to)
// is told of events the server no longer holds.
export function createConnection({ onEvents, onGap }) {
  let ws = null;
  let nextId = 1;
  let retryMs = 500;
  const waiting = new Map(); // op id → {resolve, reject}
  const over = () => state.conn === "ended" || state.conn === "stale";

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const path = state.readOnly ? `/api/watch/${state.watch}/ws` : `/api/sessions/${state.session}/ws`;
    ws = new WebSocket(`${proto}//${location.host}${path}?since=${state.lastSeq}&format=bin&pace=16`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      set({ conn: "live" });
      retryMs = 500;
    };
    // Events come as binary batches; control messages as JSON text.
    ws.onmessage = (m) => {
      if (typeof m.data === "string") {
        onMessage(JSON.parse(m.data));
        return;
      }
      let evs;
      try {
        evs = decodeBatch(m.data);
      } catch (e) {
        // Never go on past a batch that could not be read: its events would
        // be missing in silence. Say so, and resume after the last event
        // shown; a page older than its server cannot, and must be reloaded.
        flash(`could not read the events the server sent: ${e.message}`);
        if (e.reload) set({ conn: "stale" });
        ws.close();
        return;
      }
      take(evs);
    };
    ws.onclose = () => {
      for (const w of waiting.values()) w.reject(new Error("connection lost"));
      waiting.clear();
      if (over()) return;
      set({ conn: "reconnecting" });
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  function onMessage(m) {
    switch (m.type) {
      case "hello":
        return;
      case "state":
        onState(m);
        return;
      case "error":
        settle(m.reply, null, new Error(m.error.msg));
        flash(m.error.msg);
        return;
      case "gap":
        // Older events left the server's memory (its event-log limit).
        onGap(m.from, m.to);
        set({ lastSeq: Math.max(state.lastSeq, m.to) });
        return;
      case "draining":
        // The node is being drained: the session goes on, until a
        // deadline.
        set({ drainBy: m.deadline || 0 });
        flash(m.msg);
        return;
      case "ended":
        onState(m);
        set({ conn: "ended", endReason: m.end_reason || "" });
        flash(m.end_reason ? `This session has ended (${m.end_reason}); its sockets are closed.` : "This session has ended; its sockets are closed.");
        return;
    }
  }

  function onState(st) {
    const patch = { pending: st.pending || [], sockets: st.sockets || [], watchers: st.watchers || 0 };
    if (st.now !== undefined) patch.clockOffset = performance.now() * 1000 - st.now;
    // A new object each message: taken only when it says something new.
    if (JSON.stringify(st.focus || null) !== JSON.stringify(state.focus)) patch.focus = st.focus || null;
    set(patch);
  }

  // take takes events in seq order: replies are settled at once, kernel
  // stats go to their sockets, and the new events to onEvents.
  function take(evs) {
    const fresh = [];
    const stats = new Map();
    let last = state.lastSeq;
    for (const ev of evs) {
      if (ev.seq <= last) continue; // already shown (a resumed stream)
      last = ev.seq;
      if (ev.reply !== undefined) settle(ev.reply, ev, null);
      if (ev.op === "stats") stats.set(ev.sock, ev.result.stats);
      fresh.push(ev);
    }
    const patch = { lastSeq: last };
    // The snapshot in a "state" message is newer than the stats events
    // before it; these came after it.
    if (stats.size) patch.sockets = state.sockets.map((s) => (stats.has(s.id) ? { ...s, stats: stats.get(s.id) } : s));
    set(patch);
    if (fresh.length) onEvents(fresh);
  }

  // feed takes messages that did not come over the WebSocket (a replay's
  // file: replay.js) down the same path as those that do: control
  // messages by their type, events in seq order.
  function feed(msgs) {
    let evs = [];
    for (const m of msgs) {
      if (m.type === undefined) {
        evs.push(m);
        continue;
      }
      if (evs.length) take(evs);
      evs = [];
      onMessage(m);
    }
    if (evs.length) take(evs);
  }

  function settle(id, ev, err) {
    const w = waiting.get(id);
    if (!w) return;
    waiting.delete(id);
    if (err) w.reject(err);
    else w.resolve(ev);
  }

  // sendOp sends one op and resolves with its event (ok or not); it
  // rejects only when the op could not be sent or was malformed.
  function sendOp(op) {
    if (state.replay) {
      flash(`this is a replay of ${state.replayOf || "an exported session"}: nothing can be run in it`);
      return Promise.reject(new Error("read-only"));
    }
    if (state.readOnly) {
      flash("you are watching this session: a watch link is read-only");
      return Promise.reject(new Error("read-only"));
    }
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      flash("not connected to the session; reconnecting…");
      return Promise.reject(new Error("not connected"));
    }
    const id = nextId++;
    unflash();
    ws.send(JSON.stringify({ id, ...op }));
    // A call that failed says so where the eye is, not only in its log row
    // (which a narrow screen cuts short).
    return new Promise((resolve, reject) => waiting.set(id, { resolve, reject })).then((ev) => {
      if (!ev.ok) flash(resultText(ev));
      return ev;
    });
  }

  return { connect, sendOp, feed };
}
