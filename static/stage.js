// The stage (templates/page.templ: #stage-code, #stage-sock, #stage-views).
// In presentation mode and on a watch page the running code and its
// console, the socket in use and its views fill the first screen, and the
// rest of the page (labs, lessons, netstat, the log) comes below it; the
// code's column appears once a program or the console has run in the
// session, or else the lesson's while one is chosen. The layout is
// style.css's (main.staged); this sizes the parts to the window, and
// brings the socket in use and its views on screen when the socket in
// use changes, or the layout does. A socket that a program running in
// this page makes becomes the socket in use.

import { on, set, state } from "./state.js";

export function initStage() {
  const main = document.getElementById("app");
  const root = document.documentElement;
  const header = document.querySelector("header.top");
  const work = main.querySelector(".work");
  const sockPart = document.getElementById("stage-sock");
  const column = document.getElementById("sockets");
  const staged = () => state.presenting || state.readOnly;

  // The stage is the window less the header and main's padding; the
  // views get what the sockets leave of it. Only staged, and only when
  // it changes: a custom property set anew on the root has every
  // element's style worked out again (1,900 of them, 27 ms of a frame
  // as a program's cards came and grew), so the sockets' height, which
  // changes as cards do, is set on the one part that reads it.
  const viewsPart = document.getElementById("stage-views");
  const put = (el, name, v) => {
    if (el.style.getPropertyValue(name) !== v) el.style.setProperty(name, v);
  };
  function size() {
    if (!staged()) return;
    const pad = parseFloat(getComputedStyle(main).paddingTop) || 0;
    put(root, "--stage-h", `${Math.max(320, Math.floor(innerHeight - header.offsetHeight - 2 * pad))}px`);
    put(viewsPart, "--stage-sock-h", `${Math.ceil(sockPart.getBoundingClientRect().height)}px`);
  }
  const sizes = new ResizeObserver(size);
  sizes.observe(sockPart);
  sizes.observe(header);
  addEventListener("resize", size);

  const lay = (s) => {
    main.classList.toggle("staged", staged());
    main.classList.toggle("with-code", s.program);
    main.classList.toggle("with-lesson", !!s.lesson && !s.program);
    size();
  };
  on(["presenting", "program", "lesson"], lay);
  lay(state);

  // reveal brings the socket in use's card on screen, with its views:
  // the page to the stage (or to the work area, whose two columns then
  // fill the window), then the card and the views within their columns.
  // Never while a pointer is down: a page moving under it loses the
  // click. With always, even when both are in view already.
  let wanted = ""; // a socket in use whose card is not made yet
  let down = false;
  let afterUp = false;
  let acted = null; // what the user last pressed or typed in
  let settling = 0; // when the socket in use last changed, while its card may grow
  let placed = new Map(); // where reveal left the page and the columns: scroller → scrollTop
  addEventListener(
    "pointerdown",
    (e) => {
      down = true;
      acted = e.target;
      settling = 0;
    },
    true,
  );
  addEventListener(
    "keydown",
    (e) => {
      acted = e.target;
      settling = 0;
    },
    true,
  );
  addEventListener(
    "pointerup",
    () => {
      down = false;
      if (afterUp) setTimeout(() => reveal(afterUp === "always"));
      afterUp = false;
    },
    true,
  );
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= innerHeight;
  };
  function reveal(always = false) {
    if (down) {
      afterUp = always ? "always" : afterUp || true;
      return;
    }
    const card = state.sock && document.getElementById(`sock-${state.sock}`);
    if (!card) {
      wanted = state.sock || "";
      return;
    }
    wanted = "";
    const views = document.getElementById("views");
    if (!always && visible(card) && visible(views)) return;
    // Working in a panel that goes on step by step (data-keeps-place: a
    // lesson, the code pane), the panel stays where it is, in the column
    // the cards share: the views, in the other column, show the socket.
    if (!always && !staged() && acted instanceof Element && acted.closest("[data-keeps-place]")) {
      views.scrollIntoView({ block: "nearest", behavior: "instant" });
      mark(card, views);
      return;
    }
    const pad = parseFloat(getComputedStyle(main).paddingTop) || 0;
    // Staged, the stage is the top of the page.
    const top = staged() ? 0 : scrollY + work.getBoundingClientRect().top - pad;
    if (scrollY < top || staged()) scrollTo({ top, behavior: "instant" });
    card.scrollIntoView({ block: "nearest", behavior: "instant" });
    views.scrollIntoView({ block: "nearest", behavior: "instant" });
    mark(card, views);
  }
  // mark notes where the page and each box that scrolls the card or the
  // views stand.
  const scrollOf = (s) => (s === document ? scrollY : s.scrollTop);
  function mark(...els) {
    placed = new Map([[document, scrollY]]);
    for (const el of els) for (let a = el && el.parentElement; a && a !== document.documentElement; a = a.parentElement) if (a.scrollHeight > a.clientHeight) placed.set(a, a.scrollTop);
  }
  on("sock", () => {
    reveal();
    settle();
    const card = document.getElementById(`sock-${state.sock}`);
    grows.disconnect();
    if (card) grows.observe(card);
  });
  // A card just chosen or made may still grow (its state drawn a frame
  // later): for a moment, it is brought on screen again as it does. Not
  // once the page has been pressed, typed in or scrolled by anything but
  // reveal: the user has gone elsewhere, and the page stays where they
  // took it (a form they scrolled to and are about to press, say).
  const settle = () => {
    settling = performance.now();
    mark(document.getElementById(`sock-${state.sock}`), document.getElementById("views"));
  };
  addEventListener(
    "scroll",
    (e) => {
      if (placed.has(e.target) && Math.abs(scrollOf(e.target) - placed.get(e.target)) > 1) settling = 0;
    },
    true,
  );
  addEventListener("wheel", () => (settling = 0), { passive: true });
  addEventListener("touchstart", () => (settling = 0), { passive: true });
  const grows = new ResizeObserver(() => {
    if (settling && performance.now() - settling < 1000) reveal();
  });
  // Settled at the next frame, where the page's layout is clean: here,
  // in the frame that made the card, measuring it laid out the whole
  // page once more than the frame does (traced: 10-17 ms a new card).
  new MutationObserver(() => {
    if (!wanted || wanted !== state.sock) return;
    const card = document.getElementById(`sock-${wanted}`);
    if (card) grows.observe(card);
    requestAnimationFrame(() => {
      settle();
      reveal();
    });
  }).observe(column, { childList: true });
  // Into presentation mode or out of it, or the code or a lesson coming
  // on the stage, the page is laid out anew: the stage (or the work
  // area) comes to the top.
  on("presenting", () => requestAnimationFrame(() => reveal(true)));
  let onStage = "";
  on(["program", "lesson"], () => {
    // A lesson's next step is not a new layout; another lesson is.
    const now = `${!!state.program} ${state.lesson ? state.lesson.id : ""}`;
    if (now === onStage) return;
    onStage = now;
    if (staged()) requestAnimationFrame(() => reveal(true));
  });
  addEventListener("resize", () => requestAnimationFrame(() => reveal()));

  return {
    // take makes the socket a program in this page just made (or
    // accepted) the socket in use, as a socket made by a click is: the
    // stage shows what the running code works on.
    take(evs) {
      const py = window.sockplay && window.sockplay.python;
      if (state.readOnly || !py || !py.state().busy) return; // a program of this page runs
      let made = "";
      for (const ev of evs) if (ev.origin && ev.ok && (ev.op === "socket" || ev.op === "accept") && ev.result && ev.result.sock) made = ev.result.sock;
      if (made) set({ sock: made });
    },
  };
}
