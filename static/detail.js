// The detail pane (#detail): one event whole, the call, the Python
// statement and what it printed, the result, and its bytes as the pane's
// controls say (text, hex, an encoding).

import { dataOf, detailTitle, pyPrompt, pyRepr, resultText } from "./event.js";
import { renderData } from "./dataview.js";

// showData draws bytes as the pane's controls say.
function showData(container, bytes) {
  const mode = document.getElementById("data-mode").value;
  const encoding = document.getElementById("data-encoding").value;
  renderData(container, bytes, { mode, encoding });
}

// createDetail wires the pane; show(ev) shows an event. reveal(ev) is
// told of each event shown (the code pane shows its line).
export function createDetail({ reveal }) {
  const pane = document.getElementById("detail");
  const data = document.getElementById("detail-data");
  let bytes = new Uint8Array(0);
  for (const id of ["data-mode", "data-encoding"]) {
    document.getElementById(id).addEventListener("change", () => showData(data, bytes));
  }
  function show(ev) {
    pane.hidden = false;
    document.getElementById("detail-call").textContent = detailTitle(ev);
    reveal(ev);
    document.getElementById("detail-py").textContent = `${pyPrompt(ev)}\n${pyRepr(ev)}`;
    document.getElementById("detail-result").textContent = resultText(ev);
    bytes = dataOf(ev) || new Uint8Array(0);
    showData(data, bytes);
  }
  return { show };
}
