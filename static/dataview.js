// Data views: the bytes a socket moved, as text or as a hex dump. The text
// view hides nothing: bytes that print nothing (\r, \t, NUL, a lone 0xff)
// are shown as escapes, set apart by colour, because in socket exercises
// the invisible bytes (a missing \r\n, a stray NUL) are the bug.
//
// API
//   renderData(container, bytes, {mode, encoding, max})
//     mode: "text" | "hex" | "both"; encoding: "utf-8" | "latin1" | "ascii";
//     max: bytes shown (65,536), with a note when there are more
//   dataText(bytes, encoding) → the text view's text
//   hexDump(bytes) → the hex view's text (xxd's format)

import { el } from "./dom.js";
import { fmt } from "./format.js";

const MAX = 65536; // bytes shown: a 1 MiB recv still renders at once

const hex2 = (x) => x.toString(16).padStart(2, "0");

// Code points that print nothing, or look like something else, in a
// decoded string: C1 controls, the no-break space, soft hyphen, zero-width
// and direction marks, line and paragraph separators, BOM. They show as
// \uXXXX.
function invisible(cp) {
  return (cp >= 0x80 && cp <= 0xa0) || cp === 0xad || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) || cp === 0xfeff;
}

// utf8At decodes one well-formed UTF-8 sequence at i: [code point, length],
// or null (overlong forms, surrogates and values past U+10FFFF are not
// well-formed, as for Python's decoder).
function utf8At(b, i) {
  const x = b[i];
  if (x < 0x80) return [x, 1];
  let need;
  let cp;
  let min;
  if (x >= 0xc2 && x <= 0xdf) [need, cp, min] = [1, x & 0x1f, 0x80];
  else if (x >= 0xe0 && x <= 0xef) [need, cp, min] = [2, x & 0x0f, 0x800];
  else if (x >= 0xf0 && x <= 0xf4) [need, cp, min] = [3, x & 0x07, 0x10000];
  else return null;
  if (i + need >= b.length) return null;
  for (let k = 1; k <= need; k++) {
    const y = b[i + k];
    if ((y & 0xc0) !== 0x80) return null;
    cp = (cp << 6) | (y & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
  return [cp, need + 1];
}

// pieces walks the bytes as text, calling out(str, isEscape, newline) for
// each run; newline is set on the escape of a \n so a real line break can
// follow it.
function pieces(b, encoding, out) {
  let run = "";
  const flush = () => {
    if (run) out(run, false);
    run = "";
  };
  const esc = (s, nl) => {
    flush();
    out(s, true, nl);
  };
  for (let i = 0; i < b.length; ) {
    const x = b[i];
    if (x === 10) esc("\\n", true);
    else if (x === 13) esc("\\r");
    else if (x === 9) esc("\\t");
    else if (x === 92) esc("\\\\");
    else if (x < 32 || x === 127) esc("\\x" + hex2(x));
    else if (x < 128) run += String.fromCharCode(x);
    else if (encoding === "latin1") {
      // 0x80–0x9f are controls; 0xa0 and 0xad look like a space or nothing.
      if (x <= 0xa0 || x === 0xad) esc("\\x" + hex2(x));
      else run += String.fromCharCode(x);
    } else if (encoding === "utf-8" || encoding === "utf8") {
      const d = utf8At(b, i);
      if (!d) esc("\\x" + hex2(x));
      else {
        if (invisible(d[0])) esc("\\u" + d[0].toString(16).padStart(4, "0"));
        else run += String.fromCodePoint(d[0]);
        i += d[1];
        continue;
      }
    } else esc("\\x" + hex2(x));
    i++;
  }
  flush();
}

// dataText is the text view's text: escapes for what prints nothing, a line
// break after each \n. A literal backslash is \\, as in a Python bytes
// literal, so an escape is never ambiguous.
export function dataText(bytes, encoding = "utf-8") {
  let s = "";
  pieces(bytes, encoding, (run, _esc, nl) => (s += nl ? run + "\n" : run));
  return s;
}

function hexLine(b, off) {
  const n = Math.min(16, b.length - off);
  let h = "";
  let a = "";
  for (let k = 0; k < 16; k++) {
    if (k && k % 2 === 0) h += " ";
    if (k < n) {
      const x = b[off + k];
      h += hex2(x);
      a += x >= 32 && x < 127 ? String.fromCharCode(x) : ".";
    } else h += "  ";
  }
  return [off.toString(16).padStart(8, "0") + ":", " " + h + "  " + a];
}

// hexDump is xxd's format: offset, 16 bytes as 8 groups of two, and the
// printable ASCII with dots for the rest.
export function hexDump(bytes) {
  const lines = [];
  for (let off = 0; off < bytes.length; off += 16) lines.push(hexLine(bytes, off).join(""));
  return lines.join("\n");
}

// Monospace rows of one height let a pane draw only the rows in view: the
// cost of a view is its height, not the size of the data.
const ROW_H = 22; // px, the CSS line-height of a row
const ROWS_SHOWN = 28; // the height of a pane, in rows

// A character past U+1100 may be drawn two columns wide (CJK, emoji);
// counting it as two can only wrap a row early, never hide its end.
const WIDE = /[\u1100-\uffff\ud800-\udfff]/;

// textRows cuts the text view into rows: at each \n, and where a line is
// wider than cols. A row is a list of parts: strings, and {esc} for the
// escapes; nl marks a row that ends a line.
function textRows(b, encoding, cols) {
  const rows = [];
  let row = [];
  let w = 0;
  const end = (nl) => {
    rows.push({ parts: row, nl });
    row = [];
    w = 0;
  };
  pieces(b, encoding, (run, esc, nl) => {
    if (esc) {
      if (w + run.length > cols && w > 0) end(false);
      // Escapes side by side share one span: binary data costs a few
      // elements a row, not one per byte.
      const last = row[row.length - 1];
      if (last && typeof last !== "string") last.esc += run;
      else row.push({ esc: run });
      w += run.length;
      if (nl) end(true);
      return;
    }
    if (!WIDE.test(run)) {
      for (let i = 0; i < run.length; ) {
        if (w >= cols) end(false);
        const take = run.slice(i, i + cols - w);
        row.push(take);
        w += take.length;
        i += take.length;
      }
      return;
    }
    let cur = "";
    for (const ch of run) {
      const cw = WIDE.test(ch) ? 2 : 1;
      if (w + cw > cols && w > 0) {
        if (cur) row.push(cur);
        cur = "";
        end(false);
      }
      cur += ch;
      w += cw;
    }
    if (cur) row.push(cur);
  });
  if (row.length || !rows.length) end(false);
  return rows;
}

function textRow(r) {
  const d = el("div", "spd-row");
  if (r.nl) d.dataset.nl = "";
  for (const p of r.parts) d.append(typeof p === "string" ? p : el("span", "spd-esc", p.esc));
  return d;
}

function hexRow(b, i) {
  const [o, rest] = hexLine(b, i * 16);
  const d = el("div", "spd-row");
  d.append(el("span", "spd-off", o), rest);
  return d;
}

// virtual makes a scrolling pane of count rows that draws, on each
// scroll, only the rows in view and a few around them.
function virtual(cls, count, rowAt) {
  const box = el("div", "spd-scroll " + cls);
  box.dataset.rows = count;
  box.tabIndex = 0;
  box.style.height = `${Math.min(count, ROWS_SHOWN) * ROW_H + 14}px`;
  const spacer = el("div", "spd-spacer");
  spacer.style.height = `${count * ROW_H}px`;
  const win = el("div", "spd-rows");
  spacer.append(win);
  box.append(spacer);
  const draw = (top) => {
    const first = Math.max(0, Math.floor(top / ROW_H) - 4);
    const last = Math.min(count, first + ROWS_SHOWN + 8);
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.append(rowAt(i));
    win.style.top = `${first * ROW_H}px`;
    win.replaceChildren(frag);
  };
  let queued = false;
  box.addEventListener("scroll", () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      draw(box.scrollTop);
    });
  });
  draw(0);
  return box;
}

function pane(title, content) {
  const d = el("div", "spd-pane");
  d.append(el("h5", "", title), content);
  return d;
}

// renderData shows bytes (a Uint8Array) in container, replacing what is
// there: as text in the given encoding, as a hex dump, or both side by
// side. Only the first max bytes (64 KiB) are shown, with a note saying
// so; each pane draws only the rows in view.
export function renderData(container, bytes, { mode = "text", encoding = "utf-8", max = MAX } = {}) {
  bytes = bytes || new Uint8Array(0);
  const b = bytes.length > max ? bytes.subarray(0, max) : bytes;
  const root = el("div", "spd");
  root.dataset.mode = mode;
  root.dataset.encoding = encoding;
  const note = el("p", "spd-note", bytes.length > max ? `first ${fmt(max)} of ${fmt(bytes.length)} bytes` : `${fmt(bytes.length)} byte${bytes.length === 1 ? "" : "s"}`);
  const panes = el("div", "spd-panes " + mode);
  const enc = { "utf-8": "UTF-8", utf8: "UTF-8", latin1: "Latin-1", ascii: "ASCII" }[encoding] || encoding;
  root.append(note, panes);
  if (mode === "hex" || mode === "both") panes.append(pane("hex", virtual("spd-hex", Math.ceil(b.length / 16), (i) => hexRow(b, i))));
  let text = null;
  if (mode === "text" || mode === "both") {
    text = pane(`text (${enc})`, el("div"));
    panes.append(text);
  }
  container.replaceChildren(root);
  if (!text) return;
  // Rows wrap at the pane's width, so it is measured once it is on the page.
  const probe = el("span", "spd-probe", "0".repeat(20));
  text.append(probe);
  const cw = probe.getBoundingClientRect().width / 20;
  const inner = text.clientWidth - 30;
  probe.remove();
  const cols = cw > 0 && inner > cw * 16 ? Math.floor(inner / cw) : 96;
  const rows = textRows(b, encoding, cols);
  text.lastChild.replaceWith(virtual("spd-text", rows.length, (i) => textRow(rows[i])));
}
