// The setup row (templates/labs.templ, newsocket.templ): the lab servers,
// each with a button for a socket connected to it; the reference panel's
// request templates; the new socket form; and the name lookups, each
// answered next to its form.

import { answer, answerText } from "./cards.js";
import { flash } from "./flash.js";

// initSetup wires the row. sendOp(op) sends an op; sockets is the sockets
// column (sockets.js).
export function initSetup({ sendOp, sockets }) {
  document.getElementById("new-socket").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    sendOp({ op: "socket", family: f.get("family"), type: f.get("type") }).then(
      (ev) => {
        answer(e.submitter || e.target, answerText(ev), !ev.ok);
        if (ev.ok) sockets.use(ev.result.sock);
      },
      () => {},
    );
  });

  document.getElementById("names").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const host = String(f.get("host")).trim();
    const port = String(f.get("port")).trim();
    const op = e.submitter && e.submitter.value === "gethostbyname" ? { op: "gethostbyname", host } : { op: "getaddrinfo", host, port: port === "" ? null : /^\d+$/.test(port) ? Number(port) : port };
    const at = e.submitter || e.target;
    sendOp(op).then(
      (ev) => answer(at, answerText(ev), !ev.ok),
      () => {},
    );
  });

  for (const b of document.querySelectorAll(".lab-connect")) {
    b.addEventListener("click", async () => {
      try {
        const ev = await sendOp({ op: "socket", family: b.dataset.addr.startsWith("[") ? "inet6" : "inet", type: b.dataset.proto === "udp" ? "dgram" : "stream" });
        if (!ev.ok) return;
        const sock = ev.result.sock;
        sockets.presetAddr(sock, b.dataset.addr);
        sockets.use(sock);
        await sendOp({ op: "connect", sock, addr: b.dataset.addr });
      } catch {
        /* shown by flash */
      }
    });
  }

  // A request template fills the send box of the socket in use.
  for (const b of document.querySelectorAll(".template")) {
    b.addEventListener("click", () => {
      const card = sockets.inUse();
      if (!card) return flash("make a socket first: the template fills its send box");
      const sock = card.id.slice(5);
      if (card.dataset.state === "listening") return flash(`${sock} is listening: it sends nothing. accept() a connection and send on that socket`);
      const box = card.querySelector(".send-data");
      card.querySelector(".send-enc").value = "text";
      box.value = b.dataset.text;
      box.dispatchEvent(new Event("input"));
      sockets.use(sock);
      box.focus();
    });
  }
}
