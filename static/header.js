// The page's header (templates/header.templ): the connection's status,
// the people watching, and the button that makes a watch link.

import { flash } from "./flash.js";
import { on, state } from "./state.js";

// What the status says, and its class, for each state.conn.
function connText(s) {
  switch (s.conn) {
    case "live":
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
  on(["conn", "endReason", "replayOf"], (s) => {
    const [text, cls] = connText(s);
    conn.textContent = text;
    conn.className = "conn " + cls;
  });
  const watchers = document.getElementById("watchers");
  if (watchers) on("watchers", (s) => (watchers.textContent = s.watchers ? `${s.watchers} watching` : ""));

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
