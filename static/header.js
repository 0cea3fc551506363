// The page's header (templates/header.templ): the connection's status,
// the people watching, and the button that makes a watch link; on a watch
// page, where the teacher looks and the "follow teacher" toggle.

import { flash } from "./flash.js";
import { focusText } from "./focus.js";
import { on, set, state } from "./state.js";

// What the status says, and its class, for each state.conn.
function connText(s) {
  switch (s.conn) {
    case "live":
      if (s.drainBy) {
        const by = new Date(s.drainBy).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        return [`${s.readOnly ? "live, watching" : "live"} · draining: ends by ${by}`, "live draining"];
      }
      return [s.readOnly ? "live, watching" : "live", "live"];
    case "reconnecting":
      return ["reconnecting…", "down"];
    case "ended":
      return [s.endReason ? `session ended: ${s.endReason}` : "session ended", "down"];
    case "stale":
      return ["reload the page", "down"];
    case "replay":
      return [s.replayOf ? "replay" : "no file open", "replay"];
    default:
      return ["connecting…", ""];
  }
}

export function initHeader() {
  const conn = document.getElementById("conn");
  on(["conn", "endReason", "replayOf", "drainBy"], (s) => {
    const [text, cls] = connText(s);
    conn.textContent = text;
    conn.className = "conn " + cls;
  });
  const watchers = document.getElementById("watchers");
  if (watchers) on("watchers", (s) => (watchers.textContent = s.watchers ? `${s.watchers} watching` : ""));

  const follow = document.getElementById("follow-toggle");
  if (follow) {
    const where = document.getElementById("follow-where");
    follow.addEventListener("click", () => set({ following: !state.following }));
    const show = (s) => {
      follow.setAttribute("aria-pressed", String(s.following));
      follow.textContent = s.following ? "following teacher" : "follow teacher";
      const at = focusText(s.focus);
      where.textContent = !at ? "" : s.following ? `teacher: ${at}` : `teacher: ${at} · you look on your own`;
    };
    show(state);
    on(["following", "focus"], show);
  }

  const watchBtn = document.getElementById("watch-link");
  if (!watchBtn) return;
  watchBtn.addEventListener("click", async () => {
    try {
      const r = await fetch(`/api/sessions/${state.session}/watch`, { method: "POST" });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error ? body.error.msg : r.statusText);
      const box = document.getElementById("watch-url");
      box.value = location.origin + body.url;
      box.hidden = false;
      box.size = box.value.length;
      box.select();
      navigator.clipboard?.writeText(box.value).then(
        () => flash("watch link copied: whoever opens it sees this session live, read-only"),
        () => flash("watch link: whoever opens it sees this session live, read-only"),
      );
    } catch (e) {
      flash("could not make a watch link: " + e.message);
    }
  });
}
