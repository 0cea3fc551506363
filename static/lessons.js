// The lessons panel (templates/lessons.templ): pick a lesson, run it step
// by step (or all at once) in this session, and read what each step did.
// The server runs the steps; this only asks and shows.

import { callOn, resultText } from "./event.js";
import { el } from "./dom.js";
import { flash } from "./flash.js";

export function initLessons({ sessionId }) {
  const panel = document.getElementById("lesson");
  const select = document.getElementById("lesson-select");
  const summary = panel.querySelector(".lesson-summary");
  const list = panel.querySelector(".lesson-steps");
  const buttons = Object.fromEntries([...panel.querySelectorAll("button[data-act]")].map((b) => [b.dataset.act, b]));
  let lesson = null;
  let running = false;
  let stop = false;

  const json = (r) => (r.ok ? r.json() : r.json().then((e) => Promise.reject(new Error(e.error ? e.error.msg : r.statusText))));
  const api = (path, method = "GET") => fetch(`/api/sessions/${sessionId}/lessons/${lesson.id}${path}`, { method }).then(json);

  // The list is the page's (templates/lessons.templ); a lesson's steps are
  // fetched when it is chosen, with this session's progress in it.
  select.addEventListener("change", async () => {
    const id = select.value;
    lesson = null;
    setEnabled();
    summary.textContent = id ? select.selectedOptions[0].dataset.summary : "";
    if (!id) {
      list.replaceChildren();
      return;
    }
    try {
      const [l, ans] = await Promise.all([fetch(`/api/lessons/${id}`).then(json), fetch(`/api/sessions/${sessionId}/lessons/${id}`).then(json)]);
      if (select.value !== id) return; // another was chosen meanwhile
      lesson = l;
      setEnabled();
      render(ans.progress);
    } catch (e) {
      flash(e.message);
    }
  });

  function setEnabled() {
    for (const [act, b] of Object.entries(buttons)) b.disabled = !lesson || (running && act !== "stop");
    buttons.stop.hidden = !running;
  }

  // render draws the steps, with what each run did.
  function render(progress) {
    const results = new Map();
    for (const r of progress.results || []) results.set(r.step, r);
    list.replaceChildren(
      ...lesson.steps.map((st, i) => {
        const li = el("li", "lesson-step");
        li.dataset.step = i;
        if (i === progress.next) li.classList.add("current");
        li.append(el("p", "say", st.say));
        const r = results.get(i);
        if (r) {
          li.classList.add(r.problem ? "problem" : r.differs ? "differs" : "done");
          const out = el("div", "outcome");
          if (r.event) {
            const ev = r.event;
            out.append(el("code", "call", callOn(ev)), el("span", ev.ok ? "res" : "res err", " → " + resultText(ev)));
          }
          if (r.waited) out.append(el("div", "waited", r.waited));
          if (r.differs) out.append(el("div", "differs", "Not what the lesson expected: " + r.differs + ". Timing and the network can do that; look at the rows and go on."));
          if (r.problem) out.append(el("div", "problem", r.problem));
          if (st.look && !r.problem) out.append(el("div", "look", "Look: " + st.look));
          li.append(out);
        }
        return li;
      }),
    );
    const cur = list.querySelector(".current");
    if (cur) cur.scrollIntoView({ block: "nearest" });
    if (progress.next >= lesson.steps.length) list.append(el("li", "lesson-end", "The lesson is over. Reset it to run it again."));
  }

  async function step() {
    const ans = await api("/step", "POST");
    render(ans.progress);
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
      }
    }),
  );
  buttons.stop.addEventListener("click", () => (stop = true));
  buttons.skip.addEventListener("click", () => act(async () => render((await api("/skip", "POST")).progress)));
  buttons.reset.addEventListener("click", () => act(async () => render((await api("/reset", "POST")).progress)));
  setEnabled();
}
