// The lessons panel (templates/lessons.templ): pick a lesson, run it step
// by step (or all at once) in this session, and read what each step did.
// The server runs the steps; this only asks and shows.
//
// What a step said to look for, and the end, are never out of sight: the
// step just run is drawn whole in the panel's "now" box (its call, its
// result, its Look: hint, then the next step), and the list of every step
// has no scroll box of its own. A step's socket becomes the socket in use,
// so the views show it; sockets are named as the page names them (s7),
// never by the lesson's own names.

import { callOn, resultText } from "./event.js";
import { el } from "./dom.js";
import { flash } from "./flash.js";
import { on, set, state } from "./state.js";

// The lesson's name for a socket in a step's text: ${c}.
const NAME = /\$\{([A-Za-z0-9_./-]+)\}/g;

// stepSock is the socket a step is about: the one it made (socket,
// accept), else the one it acted on, or the one it waited on.
function stepSock(st, r, names) {
  const ev = r && r.event;
  if (ev) return (ev.ok && ev.result && ev.result.sock) || ev.sock || "";
  return (st.wait && names && names[st.wait.sock]) || "";
}

// initLessons wires the panel. show(ev) shows a step's event in the
// detail pane. On a watch page (watchToken) the panel runs nothing: while
// its watcher follows the owner, it shows the lesson the owner is in and
// the steps they ran, as the owner's panel shows them.
export function initLessons({ sessionId, watchToken, show }) {
  const panel = document.getElementById("lesson");
  const select = document.getElementById("lesson-select");
  const summary = panel.querySelector(".lesson-summary");
  const status = panel.querySelector(".lesson-status");
  const now = panel.querySelector(".lesson-now");
  const all = panel.querySelector(".lesson-all");
  const count = panel.querySelector(".lesson-count");
  const list = panel.querySelector(".lesson-steps");
  const buttons = Object.fromEntries([...panel.querySelectorAll("button[data-act]")].map((b) => [b.dataset.act, b]));
  let lesson = null;
  let progress = null;
  let running = false;
  let stop = false;

  const json = (r) => (r.ok ? r.json() : r.json().then((e) => Promise.reject(new Error(e.error ? e.error.msg : r.statusText))));
  const api = (path, method = "GET") => fetch(`/api/sessions/${sessionId}/lessons/${lesson.id}${path}`, { method }).then(json);
  const over = () => !!lesson && !!progress && progress.next >= lesson.steps.length;
  // fetchLesson is a lesson's steps and this session's progress in it.
  const fetchLesson = (id) =>
    watchToken
      ? fetch(`/api/watch/${watchToken}/lessons/${id}`).then(json)
      : Promise.all([fetch(`/api/lessons/${id}`).then(json), fetch(`/api/sessions/${sessionId}/lessons/${id}`).then(json)]).then(([l, ans]) => ({ lesson: l, progress: ans.progress }));

  // The list is the page's (templates/lessons.templ); a lesson's steps are
  // fetched when it is chosen, with this session's progress in it.
  async function choose(id) {
    lesson = progress = null;
    setEnabled();
    summary.textContent = id ? select.selectedOptions[0].dataset.summary : "";
    if (!id) {
      set({ lesson: null });
      for (const n of [status, now, list]) n.replaceChildren();
      all.hidden = true;
      return;
    }
    try {
      const ans = await fetchLesson(id);
      if (select.value !== id) return; // another was chosen meanwhile
      lesson = ans.lesson;
      render(ans.progress);
    } catch (e) {
      flash(e.message);
    }
  }
  select.addEventListener("change", () => choose(select.value));
  if (watchToken) {
    select.disabled = true;
    // Following, the owner's lesson and step: fetched again when either
    // moves (a step the owner ran has its outcome).
    let asked = "";
    on(["focus", "following"], (s) => {
      if (!s.following) return;
      const f = s.focus || {};
      const key = f.lesson ? `${f.lesson} ${f.step || 0}` : "";
      if (key === asked) return;
      asked = key;
      if (!f.lesson) {
        select.value = "";
        choose("");
        return;
      }
      if (select.value !== f.lesson) {
        select.value = f.lesson;
        if (select.value !== f.lesson) return; // a lesson this page does not list
        choose(f.lesson);
        return;
      }
      fetchLesson(f.lesson)
        .then((ans) => {
          if (select.value === f.lesson) render(ans.progress);
        })
        .catch((e) => flash(e.message));
    });
  }

  // setEnabled makes the buttons say what can be done: nothing to run
  // past the end, where the lesson can only start again.
  function setEnabled() {
    const end = over();
    for (const [act, b] of Object.entries(buttons)) b.disabled = !lesson || (running && act !== "stop") || (end && (act === "step" || act === "all" || act === "skip"));
    buttons.stop.hidden = !running;
    buttons.reset.textContent = end ? "start again" : "reset";
    buttons.reset.classList.toggle("small", !end);
    buttons.reset.title = end ? "the lesson is over: run it again from its first step (it makes new sockets)" : "back to the first step (the sockets made so far stay)";
  }

  // text is a step's text with the lesson's socket names as the session's
  // ids, each a button that makes it the socket in use; a socket not made
  // yet is named by the step that makes it.
  function text(s) {
    const out = [];
    let at = 0;
    for (const m of s.matchAll(NAME)) {
      out.push(s.slice(at, m.index));
      at = m.index + m[0].length;
      const id = progress.names && progress.names[m[1]];
      if (id) {
        const b = el("button", "sock-ref", id);
        b.type = "button";
        b.title = `make ${id} the socket in use`;
        b.addEventListener("click", () => set({ sock: id }));
        out.push(b);
      } else {
        const maker = lesson.steps.findIndex((st) => st.as === m[1]);
        out.push(el("span", "sock-ref pending", maker >= 0 ? `the socket of step ${maker + 1}` : "a socket"));
      }
    }
    out.push(s.slice(at));
    return out;
  }

  // outcome is what a step's run did, with its hint.
  function outcome(st, r) {
    const out = el("div", "outcome");
    if (r.event) {
      const ev = r.event;
      out.append(el("code", "call", callOn(ev)), el("span", ev.ok ? "res" : "res err", " → " + resultText(ev)));
    }
    if (r.waited) out.append(el("div", "waited", r.waited));
    if (r.differs) out.append(el("div", "differs", "Not what the lesson expected: " + r.differs + ". Timing and the network can do that; look at the rows and go on."));
    if (r.problem) out.append(el("div", "problem", r.problem));
    if (st.look && !r.problem) {
      const look = el("div", "look", "Look: ");
      look.append(...text(st.look));
      out.append(look);
    }
    return out;
  }

  function say(st) {
    const p = el("p", "say");
    p.append(...text(st.say));
    return p;
  }

  // lastRun is the result of the step run last, if it is still the one
  // before the next.
  function lastRun() {
    const rs = progress.results || [];
    const r = rs[rs.length - 1];
    return r && r.step === progress.next - 1 ? r : null;
  }

  // render draws where the lesson is: the status line, the step just
  // run and the next (or the end), and every step in the list.
  function render(p) {
    progress = p;
    set({ lesson: { id: lesson.id, step: progress.next } });
    setEnabled();
    const n = lesson.steps.length;
    const results = new Map();
    for (const r of progress.results || []) results.set(r.step, r);
    status.textContent = over() ? `The lesson is over: all ${n} steps run.` : progress.next === 0 ? `${n} steps: run the first.` : `Step ${progress.next + 1} of ${n} next.`;
    status.classList.toggle("end", over());

    const parts = [];
    const r = lastRun();
    if (r) {
      const st = lesson.steps[r.step];
      const box = el("div", "lesson-step just " + (r.problem ? "problem" : r.differs ? "differs" : "done"));
      box.append(el("span", "num", `step ${r.step + 1}`), say(st), outcome(st, r));
      parts.push(box);
    }
    if (over()) {
      parts.push(el("p", "lesson-end", "That was the last step. Start again to run the lesson once more, with new sockets."));
    } else {
      const st = lesson.steps[progress.next];
      const box = el("div", "lesson-step next current");
      box.append(el("span", "num", `next, step ${progress.next + 1}`), say(st));
      parts.push(box);
    }
    now.replaceChildren(...parts);

    all.hidden = false;
    count.textContent = `all ${n} steps`;
    list.replaceChildren(
      ...lesson.steps.map((st, i) => {
        const li = el("li", "lesson-step");
        li.dataset.step = i;
        if (i === progress.next) li.classList.add("current");
        li.append(say(st));
        const r = results.get(i);
        if (r) {
          li.classList.add(r.problem ? "problem" : r.differs ? "differs" : "done");
          li.append(outcome(st, r));
          const sock = stepSock(st, r, progress.names);
          if (sock) {
            li.classList.add("has-sock");
            li.title = `show ${sock} in the views`;
            li.addEventListener("click", (e) => {
              if (e.target.closest("button")) return;
              set({ sock });
              if (r.event) show(r.event);
            });
          }
        }
        return li;
      }),
    );
    // The box grows as steps run: its end (the hint, the next step) stays
    // on screen.
    now.scrollIntoView({ block: "nearest" });
  }

  // follow makes the step's socket the one in use, so the views (ruler,
  // data view) show what the step did.
  function follow(res) {
    const st = res && lesson.steps[res.step];
    if (!st) return; // past the end: no step ran
    const sock = stepSock(st, res, progress.names);
    if (sock) set({ sock });
    if (res.event) show(res.event);
  }

  async function step() {
    const ans = await api("/step", "POST");
    render(ans.progress);
    follow(ans.result);
    return ans.result;
  }

  async function act(fn) {
    running = true;
    stop = false;
    setEnabled();
    try {
      await fn();
    } catch (e) {
      flash(e.message);
    } finally {
      running = false;
      setEnabled();
    }
  }

  buttons.step.addEventListener("click", () => act(step));
  buttons.all.addEventListener("click", () =>
    act(async () => {
      for (;;) {
        const r = await step();
        if (stop || !r || r.problem || !r.done) return;
        if (over()) {
          // Run to its end, every step is to be read: the list opens.
          all.open = true;
          return;
        }
      }
    }),
  );
  buttons.stop.addEventListener("click", () => (stop = true));
  buttons.skip.addEventListener("click", () => act(async () => render((await api("/skip", "POST")).progress)));
  buttons.reset.addEventListener("click", () => act(async () => render((await api("/reset", "POST")).progress)));
  setEnabled();
}
