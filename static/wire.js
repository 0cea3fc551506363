// The binary event batch (WebSocket ?format=bin; see web/wire.go for the
// layout). A recv record becomes the same object the JSON form gives,
// except that its bytes are result.bytes (a view of the message) rather
// than result.b64: decoding base64 for 100,000 events is time a page
// opening a long session does not have.

const text = new TextDecoder();

export function decodeBatch(buf) {
  const u8 = new Uint8Array(buf);
  if (u8[0] !== 2) {
    const e = new Error(`unknown binary batch version ${u8[0]} (this page reads version 2: reload it)`);
    e.reload = true;
    throw e;
  }
  let p = 1;
  // Unsigned LEB128, exact up to 2^53 (arithmetic, not 32-bit shifts).
  const uv = () => {
    let x = 0;
    let mul = 1;
    let b;
    do {
      if (p >= u8.length) throw new Error("binary batch: a number runs past the message");
      b = u8[p++];
      x += (b & 0x7f) * mul;
      mul *= 128;
      if (!Number.isSafeInteger(x) || mul > 2 ** 63) throw new Error("binary batch: a number too big");
    } while (b & 0x80);
    return x;
  };
  const take = (n) => {
    if (p + n > u8.length) throw new Error("binary batch: a record runs past the message");
    const out = u8.subarray(p, p + n);
    p += n;
    return out;
  };
  const out = [];
  while (p < u8.length) {
    const kind = u8[p++];
    if (kind === 1) {
      out.push(JSON.parse(text.decode(take(uv()))));
      continue;
    }
    if (kind !== 2) throw new Error(`binary batch: unknown record kind ${kind}`);
    // A run of recvs: all the headers, then all their bytes.
    const count = uv();
    if (count < 1 || count > u8.length) throw new Error(`binary batch: a run of ${count} recvs`);
    const run = [];
    const lens = [];
    for (let i = 0; i < count; i++) {
      const seq = uv();
      const t = uv();
      const start = t - uv();
      const call = uv();
      const parent = uv();
      const flags = take(1)[0];
      const sockBytes = take(uv());
      let sock = "";
      for (let j = 0; j < sockBytes.length; j++) sock += String.fromCharCode(sockBytes[j]);
      const bufsize = uv();
      lens.push(uv());
      const ev = { seq, t, start, op: "recv", args: { bufsize }, ok: true, result: { n: 0, bytes: null } };
      if (sock) ev.sock = sock;
      if (call) ev.call = call;
      if (parent) ev.parent = parent;
      if (flags & 1) ev.auto = true;
      run.push(ev);
    }
    for (let i = 0; i < count; i++) {
      const bytes = take(lens[i]);
      run[i].result.n = bytes.length;
      run[i].result.bytes = bytes;
      out.push(run[i]);
    }
  }
  return out;
}
