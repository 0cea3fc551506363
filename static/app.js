// sockplay's page: one WebSocket to the session (or, replaying, an
// exported session's file), sockets as cards, every event as a row, the
// views of the socket in use, and a netstat view of the kernel's side.
// The server is the source of truth: events come in seq order and
// "state" messages say what each socket is now.
//
// This module only puts the parts together. What the page knows is in
// state.js; how an event reads, in event.js; each part of the page is its
// own module, named for it, as its markup is a component in templates/.

import { createConnection } from "./connection.js";
import { createDetail } from "./detail.js";
import { flash, unflash } from "./flash.js";
import { initFocus } from "./focus.js";
import { initHeader } from "./header.js";
import { initLessons } from "./lessons.js";
import { createLog } from "./log.js";
import { initNetstat } from "./netstat.js";
import { initPython } from "./pyui.js";
import { initReplay } from "./replay.js";
import { initSetup } from "./setup.js";
import { createSockets } from "./sockets.js";
import { initStage } from "./stage.js";
import { on, set, state } from "./state.js";
import { initUI } from "./ui.js";
import { initViews } from "./views.js";

const log = createLog({ onSelect: (ev) => detail.show(ev) });
window.sockplayLog = log; // for tests and the console
const python = initPython({ readOnly: state.readOnly, log, pending: () => state.pending, flash, unflash });
const detail = createDetail({ reveal: (ev) => python.reveal(ev) });
on("pending", () => python.refresh()); // a pending call shows as its line's wait

const conn = createConnection({
  // What Python printed and read is the code pane's, not a call. Where
  // the owner looks is the stage's (focus.js); the log keeps it, as it
  // keeps kernel stats, without showing it as a row.
  onEvents(evs) {
    python.push(evs);
    if (!state.program && evs.some((ev) => ev.op === "python")) set({ program: true });
    stage.take(evs);
    const focus = evs.findLast((ev) => ev.op === "focus" && ev.ok);
    if (focus) set({ focus: focus.args.focus || null });
    const calls = evs.filter((ev) => ev.op !== "python");
    if (calls.length) {
      log.push(calls);
      views.refresh();
    }
  },
  onGap: (from, to) => log.gap(from, to),
});

initHeader();
const stage = initStage();
const sockets = createSockets({ run: conn.sendOp });
initSetup({ sendOp: conn.sendOp, sockets });
initNetstat();
const views = initViews({ events: log.events, onFocus: (seq) => log.select(seq), lastEvent: log.lastArrival });
if (!state.replay) initLessons({ sessionId: state.session, watchToken: state.watch, show: (ev) => detail.show(ev) });
initUI({ current: sockets.inUse });
initFocus({ sendOp: conn.sendOp });
// A replay's events come from a file, down the connection's own path.
if (state.replay) initReplay({ feed: conn.feed });
else conn.connect();
