// Page-wide controls: the theme, presentation mode for a projector
// (state.presenting), and keyboard shortcuts. Choices are remembered in
// localStorage.

import { flash } from "./flash.js";
import { on, set, state } from "./state.js";

const root = document.documentElement;

function remember(key, value) {
  try {
    localStorage.setItem("sockplay." + key, value);
  } catch {
    /* private mode: fine */
  }
}

function recall(key) {
  try {
    return localStorage.getItem("sockplay." + key);
  } catch {
    return null;
  }
}

export function setTheme(theme) {
  root.dataset.theme = theme;
  remember("theme", theme);
  const b = document.getElementById("theme-toggle");
  if (b) b.setAttribute("aria-pressed", String(theme === "dark"));
}

function showPresenting(s) {
  root.classList.toggle("presenting", s.presenting);
  remember("presenting", s.presenting ? "1" : "");
  const b = document.getElementById("present-toggle");
  if (b) b.setAttribute("aria-pressed", String(s.presenting));
}

const togglePresenting = () => set({ presenting: !state.presenting });

// initUI wires the toolbar and the shortcuts. current() is the socket in
// use (its card), for the shortcuts that act on one.
export function initUI({ current }) {
  const saved = recall("theme");
  setTheme(saved || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  set({ presenting: recall("presenting") === "1" });
  showPresenting(state);
  on("presenting", showPresenting);
  document.getElementById("theme-toggle").addEventListener("click", () => setTheme(root.dataset.theme === "dark" ? "light" : "dark"));
  document.getElementById("present-toggle").addEventListener("click", togglePresenting);
  const help = document.getElementById("shortcuts");
  document.getElementById("help-toggle").addEventListener("click", () => (help.hidden = !help.hidden));

  // Single-key shortcuts, as on many sites: never while typing in a field.
  // A key that moves focus to a box does it at once, in its keydown: the
  // keys typed next, even before this one comes up, land in the box, and
  // the preventDefault below keeps this key's own character out of it.
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t.closest && t.closest("input, textarea, select, [contenteditable]")) {
      if (e.key === "Escape") t.blur();
      return;
    }
    const card = current();
    const click = (sel) => {
      const b = card && card.querySelector(sel);
      if (!b || b.disabled) return flash(card ? "that call does not apply to this socket now" : "make a socket first");
      b.click();
    };
    switch (e.key) {
      case "s":
        if (!card) return flash("make a socket first");
        if (card.dataset.state === "listening") return flash(`${card.id.slice(5)} is listening: it sends nothing. accept() a connection and send on that socket`);
        card.querySelector(".send-data").focus();
        break;
      case "r":
        click("button.recv");
        break;
      case "x":
        click("button.close");
        break;
      case "/":
        document.getElementById("filter-search").focus();
        break;
      case "p":
        togglePresenting();
        break;
      case "t":
        setTheme(root.dataset.theme === "dark" ? "light" : "dark");
        break;
      case "?":
        help.hidden = !help.hidden;
        break;
      case "Escape":
        help.hidden = true;
        break;
      default:
        return;
    }
    e.preventDefault();
  });
}
