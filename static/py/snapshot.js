// The Python worker's memory snapshot, kept in the browser: the wasm
// memory of a Python that has booted and installed the shim, and nothing
// more (no user code has run), so that a later worker starts from it
// rather than booting CPython again (Pyodide's _loadSnapshot).
//
// It lives in IndexedDB (which, unlike Cache Storage, a page served over
// plain http from a classroom's LAN address has too), under a key that
// names everything it was made from: the Pyodide version and the build
// of its vendored files, the shim's version (a hash of static/py; both
// from version.js) and whether the browser has JSPI. One snapshot is kept: saving one deletes the others, so an
// updated sockplay never boots a stale one and old ones do not pile up.

const DB = "sockplay-python";
const STORE = "snapshots";

function openDB() {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") return reject(new Error("this browser has no IndexedDB here"));
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error || new Error("IndexedDB would not open"));
    req.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error || new Error("the IndexedDB transaction failed"));
  });
}

// checksum is a 64-bit hash of bytes (two 32-bit lanes over its words,
// then its length), as hex: what tells a damaged snapshot from the one
// saved. Not crypto.subtle's SHA-256: a page served over plain http from
// a classroom's LAN address has no crypto.subtle, and this takes a few
// tens of milliseconds for a snapshot's 30 MB.
function checksum(bytes) {
  const words = bytes.byteLength >>> 2;
  const w = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, words) : new Uint32Array(bytes.slice(0, words * 4).buffer);
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < words; i++) {
    const x = w[i];
    a = Math.imul(a ^ x, 0x01000193);
    b = Math.imul((b + x) ^ (b >>> 15), 0x2c1b3c6d);
  }
  for (let i = words * 4; i < bytes.byteLength; i++) a = Math.imul(a ^ bytes[i], 0x01000193);
  const hex = (x) => (x >>> 0).toString(16).padStart(8, "0");
  return `${hex(a)}${hex(b)}-${bytes.byteLength}`;
}

// loadSnapshot resolves with the snapshot stored under key (a
// Uint8Array), or null if there is none, none this browser can keep
// (no IndexedDB here), or one whose bytes are not the ones saved.
export async function loadSnapshot(key) {
  let db;
  try {
    db = await openDB();
  } catch {
    return null;
  }
  let rec;
  try {
    rec = await new Promise((resolve, reject) => {
      const req = db.transaction(STORE, "readonly").objectStore(STORE).get(key);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
  if (!rec || !(rec.blob instanceof Blob) || typeof rec.sum !== "string") return null;
  const bytes = new Uint8Array(await rec.blob.arrayBuffer());
  if (checksum(bytes) !== rec.sum) throw new Error("the stored snapshot is damaged: its checksum is not the one saved");
  return bytes;
}

// saveSnapshot stores bytes under key, in place of any other snapshot.
export async function saveSnapshot(key, bytes) {
  const rec = { blob: new Blob([bytes]), sum: checksum(bytes) };
  const db = await openDB();
  try {
    const tx = db.transaction(STORE, "readwrite");
    const store = tx.objectStore(STORE);
    store.clear();
    store.put(rec, key);
    await done(tx);
  } finally {
    db.close();
  }
}

// dropSnapshot deletes the snapshot under key (one that failed to boot).
export async function dropSnapshot(key) {
  const db = await openDB();
  try {
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).delete(key);
    await done(tx);
  } finally {
    db.close();
  }
}
