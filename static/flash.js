// The page's one message line (#flash): what went wrong, said where the
// eye is, for a few seconds.

import { el } from "./dom.js";

const SHOWN = 6000; // ms
let timer = 0;

export function flash(msg) {
  let f = document.getElementById("flash");
  if (!f) {
    f = el("div");
    f.id = "flash";
    f.setAttribute("role", "alert");
    document.body.append(f);
  }
  f.textContent = msg;
  f.hidden = false;
  clearTimeout(timer);
  timer = setTimeout(() => (f.hidden = true), SHOWN);
}
