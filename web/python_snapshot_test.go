package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/static"
)

// worldPy prints what a program sees of the Python it runs in, one
// field a line: what must be the same whichever way the Python started
// (a fresh boot, or the memory snapshot of one), and, last, what must
// differ from one Python to the next (random's numbers).
const worldPy = `import json, os, socket, sys, threading, time
print(json.dumps(sys.path))
print(json.dumps(sorted(sys.modules)))
print(json.dumps([t.name for t in threading.enumerate()]))
print(json.dumps(dict(os.environ)))
print(os.getcwd(), sys.argv, __name__, sys.version)
print(socket.getdefaulttimeout(), time.sleep.__module__, socket.socket.__module__, type(sys.stdout).__name__)
import random
print(random.random())
`

// reloadPython reloads the page and waits until its Python is ready,
// returning how it started ("fresh" or "snapshot").
func reloadPython(t *testing.T, p *pyPage) string {
	t.Helper()
	p.do(t, "reload", chromedp.Reload())
	p.waitFor(t, "the live WebSocket", `document.getElementById("conn").textContent === "live"`)
	return p.eval(t, `sockplay.python.ready().then((r) => r.boot)`)
}

// awaitSnapshot waits until the page's Python has said what became of
// the snapshot it made, which must be "saved".
func awaitSnapshot(t *testing.T, p *pyPage) {
	t.Helper()
	p.waitFor(t, "the snapshot saved", `!["making", null].includes(sockplay.python.state().snapshot)`)
	if s := p.eval(t, `sockplay.python.state().snapshot`); s != "saved" {
		t.Fatalf("the snapshot: %s", s)
	}
}

// TestPythonSnapshot: a Python started from the memory snapshot of a
// fresh boot is the same Python to a program (sys.path, the modules
// imported, threads, environment, the shim) but draws other random
// numbers, and runs an example program as the fresh one did.
func TestPythonSnapshot(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	var ex static.Example
	for _, x := range static.Examples() {
		if x.Name == "thread-per-client.py" {
			ex = x
		}
	}
	if ex.Name == "" {
		t.Fatal("no thread-per-client.py example")
	}
	src := ex.WithLabs(e.labs.AddrOf)
	type seen struct{ world, random, example string }
	look := func(boot string) seen {
		t.Helper()
		if got := p.eval(t, `sockplay.python.ready().then((r) => r.boot)`); got != boot {
			t.Fatalf("Python started as %q, want %q", got, boot)
		}
		lines := strings.Split(strings.TrimSuffix(p.ok(t, worldPy, ""), "\n"), "\n")
		world, random := strings.Join(lines[:len(lines)-1], "\n"), lines[len(lines)-1]
		return seen{world, random, normalPorts(p.ok(t, src, examplesStdin[ex.Name]))}
	}
	fresh := look("fresh")
	awaitSnapshot(t, p)
	var prev []seen
	for range 2 {
		if boot := reloadPython(t, p); boot != "snapshot" {
			t.Fatalf("the reloaded page's Python started as %q, want from the snapshot", boot)
		}
		s := look("snapshot")
		if s.world != fresh.world {
			t.Fatalf("a program sees, after a fresh boot:\n%s\nafter a boot from the snapshot:\n%s", fresh.world, s.world)
		}
		if s.example != fresh.example {
			t.Fatalf("%s printed, after a fresh boot:\n%s\nafter a boot from the snapshot:\n%s", ex.Name, fresh.example, s.example)
		}
		for _, q := range append(prev, fresh) {
			if s.random == q.random {
				t.Fatalf("random.random() is %s in two Pythons: the snapshot's seed was kept", s.random)
			}
		}
		prev = append(prev, s)
	}
	p.noErrors(t)
}

// TestPythonSnapshotFallback: a snapshot that cannot be the one this
// Python needs (its bytes damaged, its record cut short, one made by
// another version of the shim) is never booted: the Python boots afresh,
// runs programs, and saves a good snapshot in its place, which the next
// page starts from.
func TestPythonSnapshotFallback(t *testing.T) {
	e := newLabsEnv(t, sockets.Config{})
	p := openPython(t, e)
	awaitSnapshot(t, p)
	// Each spoils the stored snapshot (there is one) in the page's
	// IndexedDB and resolves with the keys then stored.
	const each = `(spoil) => new Promise((resolve, reject) => {
		const req = indexedDB.open("sockplay-python");
		req.onerror = () => reject(req.error);
		req.onsuccess = () => {
			const db = req.result;
			const tx = db.transaction("snapshots", "readwrite");
			const store = tx.objectStore("snapshots");
			const cur = store.openCursor();
			const jobs = [];
			cur.onsuccess = () => {
				const c = cur.result;
				if (!c) return;
				jobs.push([c.key, c.value]);
				c.continue();
			};
			tx.oncomplete = async () => {
				if (jobs.length !== 1) return reject(new Error(jobs.length + " snapshots stored"));
				const [key, rec] = jobs[0];
				const bytes = new Uint8Array(await rec.blob.arrayBuffer());
				const tx2 = db.transaction("snapshots", "readwrite");
				spoil(tx2.objectStore("snapshots"), key, rec, bytes);
				tx2.oncomplete = () => {
					const keys = db.transaction("snapshots").objectStore("snapshots").getAllKeys();
					keys.onsuccess = () => { db.close(); resolve(JSON.stringify(keys.result)); };
				};
				tx2.onerror = () => reject(tx2.error);
			};
		};
	})`
	cases := []struct {
		name, spoil string
		damaged     bool // ready() says why the snapshot was not booted
	}{
		{"bytes damaged", `(store, key, rec, bytes) => { bytes[bytes.length >> 1] ^= 0xff; bytes[64] ^= 0x01; store.put({ ...rec, blob: new Blob([bytes]) }, key); }`, true},
		{"cut short", `(store, key, rec, bytes) => store.put({ ...rec, blob: new Blob([bytes.subarray(0, bytes.length >> 1)]) }, key)`, true},
		{"another version's", `(store, key, rec) => { store.delete(key); store.put(rec, key.replace(/ \S+ /, " 0000000000000000 ")); }`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys := p.eval(t, `(`+each+`)(`+c.spoil+`)`)
			if boot := reloadPython(t, p); boot != "fresh" {
				t.Fatalf("with the snapshot spoiled (%s stored), Python started as %q, want a fresh boot", keys, boot)
			}
			if why := p.eval(t, `sockplay.python.ready().then((r) => r.snapshotError || "")`); (why != "") != c.damaged {
				t.Fatalf("ready() says the snapshot was not booted because %q", why)
			}
			if out := p.ok(t, "import socket, sys\nwith socket.socket() as s:\n    print(sys.path[0], s.family.name, s.getsockname())", ""); out != "/lib/sockplay AF_INET ('0.0.0.0', 0)\n" {
				t.Fatalf("the fresh Python printed %q", out)
			}
			awaitSnapshot(t, p)
			var stored []string
			_ = json.Unmarshal([]byte(p.eval(t, `(`+each+`)(() => {})`)), &stored)
			if len(stored) != 1 || strings.Contains(stored[0], "0000000000000000") {
				t.Fatalf("stored after the fresh boot: %v, want the new snapshot alone", stored)
			}
			if boot := reloadPython(t, p); boot != "snapshot" {
				t.Fatalf("after the fresh boot saved its snapshot, Python started as %q", boot)
			}
			if out := p.ok(t, "print(6 * 7)", ""); out != "42\n" {
				t.Fatalf("printed %q", out)
			}
		})
	}
	p.noErrors(t)
}
