// The page's one message line (#flash): what went wrong, said where the
// eye is, for a few seconds, or until the user acts again (the next call
// sent, a program run) or clicks it away: an old mistake left over the
// stage reads as the new call's.

import { el } from "./dom.js";

const SHOWN = 6000; // ms
let timer = 0;

export function flash(msg) {
  let f = document.getElementById("flash");
  if (!f) {
    f = el("div");
    f.id = "flash";
    f.setAttribute("role", "alert");
    f.title = "click to dismiss";
    f.addEventListener("click", unflash);
    document.body.append(f);
  }
  f.textContent = msg;
  f.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => (f.hidden = true), SHOWN);
}

// unflash takes the message line away.
export function unflash() {
  const f = document.getElementById("flash");
  if (f) f.hidden = true;
  clearTimeout(timer);
}
