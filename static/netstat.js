// The netstat panel (#netstat): the session's sockets as netstat would
// show them, with the kernel's queues and TCP state.

import { el, throttled } from "./dom.js";
import { on, set, state } from "./state.js";

// How often at most the table is drawn while states keep coming, in ms.
const EVERY = 150;

function kindOf(s) {
  if (s.family === "unix") return s.type === "dgram" ? "unix-dgram" : "unix-stream";
  return (s.type === "dgram" ? "udp" : "tcp") + (s.family === "inet6" ? "6" : "");
}

function row(s) {
  const st = s.stats || {};
  const listener = st.acceptq !== undefined;
  const tr = el("tr", s.state === "closed" ? "closed" : "");
  tr.dataset.sock = s.id;
  const opts = Object.entries(s.opts || {})
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" ");
  let mode = s.mode === "timeout" ? `timeout ${s.timeout}s` : s.mode;
  if (s.autorecv) mode += ` · autorecv ${s.autorecv}`;
  if (s.autoaccept) mode += " · autoaccept";
  // A socket's name leads to its transcript (a listener moves no bytes).
  const id = el("td", "ns-id");
  if (s.state !== "listening") {
    const tx = el("button", "ns-transcript", s.id);
    tx.type = "button";
    tx.dataset.sock = s.id;
    tx.title = `${s.id}'s transcript: what went through it, as socat -v shows it`;
    id.append(tx);
  } else id.append(s.id);
  if (s.link) id.append(` ↔ ${s.link}`);
  tr.append(
    id,
    el("td", "ns-kind", kindOf(s)),
    el("td", "ns-local", s.local || ""),
    el("td", "ns-peer", s.peer || (listener ? "*" : "")),
    el("td", "ns-state", st.tcp_state || s.state),
    el("td", "ns-recvq", s.state === "closed" ? "" : listener ? `${st.acceptq}/${st.backlog}` : String(st.recvq ?? "")),
    el("td", "ns-sendq", s.state === "closed" || listener ? "" : String(st.sendq ?? "")),
    el("td", "ns-mode", mode),
    el("td", "ns-opts", opts),
  );
  return tr;
}

export function initNetstat() {
  const panel = document.getElementById("netstat");
  const body = document.getElementById("netstat-body");
  const draw = () => {
    body.replaceChildren(...state.sockets.map(row));
    panel.hidden = state.sockets.length === 0;
  };
  on("sockets", throttled(draw, EVERY));
  // A socket's transcript, in the views panel.
  body.addEventListener("click", (e) => {
    const b = e.target.closest(".ns-transcript");
    if (!b) return;
    set({ sock: b.dataset.sock, view: "transcript" });
    document.getElementById("views").scrollIntoView({ block: "nearest" });
  });
}
