// The page's state, in one place: the session's, as the server says it
// (its sockets, the calls pending, the last event seen, its clock, the
// people watching, the connection to it), and the page's own (the socket
// in use, the view shown, presentation mode, the lesson step and code
// line looked at, whether a watcher follows the owner). Modules read `state`,
// change it with set(), and redraw what they show from on(); none keeps
// a copy of its own.
//
// API
//   state.KEY              the value now (read only: change it with set)
//   set({KEY: value, ...}) change some keys; then each subscriber of a key
//                          that changed is called once, with state
//   on(KEY | [KEY, ...], fn(state)) → off()   subscribe
//   now()                  the session's clock now, in µs
//   socketOf(id)           the socket with this id, or undefined

const app = document.getElementById("app");

export const state = {
  // Fixed for the page's life, from main#app.
  session: app.dataset.session, // the session's id ("" on a watch page)
  watch: app.dataset.watch, // the watch token ("" on the owner's page)
  replay: app.dataset.replay === "1", // a replay of an exported session (replay.js): no session behind it
  readOnly: !!app.dataset.watch || app.dataset.replay === "1", // a watch page or a replay: shows, never acts

  // The session, as the server says it.
  conn: "connecting", // "live", "reconnecting", "ended", "stale" (a page older than its server), or "replay"
  endReason: "", // why the session ended, when the server says
  drainBy: 0, // while the session's node drains: when (Unix ms) the session ends at the latest; 0 otherwise
  sockets: [], // as the last "state" message said, with newer kernel stats from the events
  pending: [], // the calls not returned yet: {call, sock, op, args, start}
  lastSeq: 0, // the last event taken in: a reconnect resumes after it
  clockOffset: 0, // performance.now() in µs minus the session's clock
  clockStopped: null, // the session's clock where it stopped (a replay: when it was exported), or null
  replayOf: "", // the file or URL a replay shows
  watchers: 0, // people following the session through its watch link
  program: false, // a program or the console has run in the session (its code is on the stage)
  focus: null, // where the owner looks, as the session last said: {sock, view, lesson, step, file, line}, empty ones left out


  // The page.
  sock: null, // the socket in use: the card last clicked or typed in
  view: "ruler", // the views panel's tab: "ruler", "transcript" or "timeline"
  lesson: null, // the lesson in use and its next step: {id, step}, or null
  presenting: false, // presentation mode, for a projector
  file: "", // the program in the code pane, when its code is looked at
  line: 0, // the line of the code the owner is at (0: none)
  following: true, // a watch page looks where the owner looks (focus), until its watcher looks elsewhere
};

const subscribers = new Map(); // key → Set of fn

// set changes the keys given, then calls the subscribers of those that
// changed (a new array counts as a change), each once.
export function set(patch) {
  const changed = [];
  for (const k of Object.keys(patch)) {
    if (!(k in state)) throw new Error(`the page's state has no "${k}"`);
    if (state[k] === patch[k]) continue;
    state[k] = patch[k];
    changed.push(k);
  }
  const called = new Set();
  for (const k of changed) {
    for (const fn of subscribers.get(k) || []) {
      if (called.has(fn)) continue;
      called.add(fn);
      fn(state);
    }
  }
}

// on calls fn(state) whenever one of keys changes, until off() is called.
export function on(keys, fn) {
  const list = Array.isArray(keys) ? keys : [keys];
  for (const k of list) {
    if (!(k in state)) throw new Error(`the page's state has no "${k}"`);
    if (!subscribers.has(k)) subscribers.set(k, new Set());
    subscribers.get(k).add(fn);
  }
  return () => {
    for (const k of list) subscribers.get(k).delete(fn);
  };
}

// now is the session's clock: microseconds since the session started.
export function now() {
  if (state.clockStopped !== null) return state.clockStopped;
  return performance.now() * 1000 - state.clockOffset;
}

export function socketOf(id) {
  return state.sockets.find((s) => s.id === id);
}
