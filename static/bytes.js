// Byte helpers: how sockplay reads what the user types and shows what the
// socket saw. Escapes follow Python's bytes literals.

import { el } from "./dom.js";

const enc = new TextEncoder();

// parseEscaped turns text with Python-style escapes (\r \n \t \0 \\ \' \"
// \xNN) into bytes; other characters become their UTF-8 bytes.
export function parseEscaped(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "\\") {
      const cp = s.codePointAt(i);
      if (cp > 0xffff) i++;
      out.push(...enc.encode(String.fromCodePoint(cp)));
      continue;
    }
    const n = s[++i];
    switch (n) {
      case "n": out.push(10); break;
      case "r": out.push(13); break;
      case "t": out.push(9); break;
      case "0": out.push(0); break;
      case "\\": out.push(92); break;
      case "'": out.push(39); break;
      case '"': out.push(34); break;
      case "x": {
        const h = s.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) {
          throw new Error(`\\x at position ${i} needs two hex digits, got "${h}"`);
        }
        out.push(parseInt(h, 16));
        i += 2;
        break;
      }
      case undefined:
        throw new Error("a lone \\ at the end: write \\\\ for a backslash");
      default:
        throw new Error(`unknown escape \\${n} at position ${i - 1} (known: \\r \\n \\t \\0 \\\\ \\xNN)`);
    }
  }
  return new Uint8Array(out);
}

// parseHex reads hex digits, allowing spaces, colons and newlines between.
export function parseHex(s) {
  const h = s.replace(/[\s:]/g, "");
  if (!/^[0-9a-fA-F]*$/.test(h)) throw new Error("hex may hold only 0-9, a-f, spaces and colons");
  if (h.length % 2) throw new Error("hex needs an even number of digits");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// escapeBytes shows bytes as the body of a Python bytes literal quoted
// with quote, so control bytes are visible: hello\r\n.
export function escapeBytes(b, quote = 39) {
  let s = "";
  for (const x of b) {
    if (x === 92) s += "\\\\";
    else if (x === quote) s += "\\" + String.fromCharCode(quote);
    else if (x === 10) s += "\\n";
    else if (x === 13) s += "\\r";
    else if (x === 9) s += "\\t";
    else if (x >= 32 && x < 127) s += String.fromCharCode(x);
    else s += "\\x" + x.toString(16).padStart(2, "0");
  }
  return s;
}

// pyBytes is Python's repr of bytes: single quotes, unless the bytes hold
// a ' and no ", then double quotes.
export function pyBytes(b) {
  const q = b.includes(39) && !b.includes(34) ? 34 : 39;
  const c = String.fromCharCode(q);
  return "b" + c + escapeBytes(b, q) + c;
}

// LONG is the most bytes whose repr pyBytesOf writes whole: a longer
// buffer that repeats a short run reads as that run times its count, as
// the tutorials write it (b"x" * 1_000_000) and as the export does
// (sockets/internal/pyrepr, BytesOf: the same rule and bounds); any other
// is cut after LONG bytes here, as an expanded log row is, where the
// export writes it whole. A megabyte's repr, in a row or a card, was a
// long task of its own each time it was drawn.
const LONG = 1024;
const PERIOD_MAX = 64;

// pyBytesOf is Python's repr of bytes b for the log, the cards and the
// views: whole up to LONG bytes, else as above.
export function pyBytesOf(b) {
  if (b.length <= LONG) return pyBytes(b);
  const p = periodOf(b);
  if (!p) return pyBytes(b.subarray(0, LONG)) + "…";
  const n = Math.floor(b.length / p);
  const tail = b.subarray(n * p);
  return `${pyBytes(b.subarray(0, p))} * ${n}` + (tail.length ? ` + ${pyBytes(tail)}` : "");
}

// periodOf is the length of the shortest run, of at most PERIOD_MAX
// bytes, that b repeats from its start (a part of it may end b), or 0.
function periodOf(b) {
  next: for (let p = 1; p <= PERIOD_MAX && 2 * p <= b.length; p++) {
    for (let i = p; i < b.length; i++) if (b[i] !== b[i - p]) continue next;
    return p;
  }
  return 0;
}

export function hexBytes(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

// resultBytes is what a recv got: result.bytes when the event came in a
// binary batch, result.b64 decoded when it came as JSON.
export function resultBytes(r) {
  if (!r) return new Uint8Array(0);
  return r.bytes || fromB64(r.b64);
}

export function fromB64(s) {
  if (!s) return new Uint8Array(0);
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(s);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function toB64(b) {
  let bin = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

const ESC = { 9: "\\t", 10: "\\n", 13: "\\r", 0: "\\0", 92: "\\\\" };
const utf8 = new TextDecoder("utf-8", { fatal: true });

// escapeText cuts bytes into runs of text and escapes: printable ASCII
// and whole UTF-8 characters are text; \r \n \t \0 and a backslash are
// their escapes, any other byte \xNN.
export function escapeText(b) {
  const out = [];
  let text = "";
  const flush = () => {
    if (text) out.push(["t", text]);
    text = "";
  };
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c >= 0x20 && c < 0x7f && c !== 92) {
      text += String.fromCharCode(c);
      continue;
    }
    const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len && i + len <= b.length) {
      try {
        text += utf8.decode(b.subarray(i, i + len));
        i += len - 1;
        continue;
      } catch {
        /* not a character: an escape */
      }
    }
    flush();
    out.push(["e", ESC[c] ?? "\\x" + c.toString(16).padStart(2, "0")]);
  }
  flush();
  return out;
}

// appendEscaped puts bytes into parent as text, with \r \n \t and the
// other bytes no text shows as escapes in spans of class cls, a \n also
// ending the line: as the transcript and the ruler's text show bytes.
export function appendEscaped(parent, b, cls) {
  for (const [kind, t] of escapeText(b)) {
    if (kind === "t") parent.append(t);
    else parent.append(el("span", cls, t), t === "\\n" ? "\n" : "");
  }
}
