package static

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPyodideManifest: every vendored file is, once ungzipped, the file
// whose sha256 SHA256SUMS records, and the core is all there.
func TestPyodideManifest(t *testing.T) {
	c, err := loadPyodide()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pyodide.asm.wasm", "pyodide.asm.mjs", "pyodide.mjs", "pyodide-lock.json", "python_stdlib.zip"} {
		f, ok := c.files[name]
		if !ok {
			t.Errorf("%s is not vendored", name)
			continue
		}
		b, err := pyodideFS.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if f.gzip {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != c.sums[name] {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %s", name, got, c.sums[name])
		}
	}
	if _, err := pyodideFS.ReadFile("pyodide/LICENSE"); err != nil {
		t.Errorf("the licence is not vendored: %v", err)
	}
	if v := PyodideVersion(); !strings.HasPrefix(v, "314.0.") {
		t.Errorf("PyodideVersion() = %q, want a 314.0.x release (CPython 3.14)", v)
	}
}

// TestStdlibBytecode: the vendored stdlib is the package's with bytecode
// beside some of its modules (scripts/compile-stdlib.mjs): each .pyc an
// unchecked hash-based one (PEP 552: imported without reading its
// source) of the one CPython (one magic number), and each beside its .py,
// which tracebacks read their lines from.
func TestStdlibBytecode(t *testing.T) {
	b, err := pyodideFS.ReadFile("pyodide/python_stdlib.zip")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	var magic []byte
	n := 0
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".pyc") {
			continue
		}
		n++
		if !names[strings.TrimSuffix(f.Name, "c")] {
			t.Errorf("%s has no source beside it", f.Name)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 16)
		_, err = io.ReadFull(r, head)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if magic == nil {
			magic = head[:4]
		}
		if !bytes.Equal(head[:4], magic) || head[2] != '\r' || head[3] != '\n' {
			t.Errorf("%s: magic % x, want % x like the others", f.Name, head[:4], magic)
		}
		if flags := head[4:8]; !bytes.Equal(flags, []byte{1, 0, 0, 0}) {
			t.Errorf("%s: flags % x, want 01 00 00 00 (hash-based, unchecked)", f.Name, flags)
		}
	}
	// What a fresh boot imports is a hundred modules and more.
	for _, name := range []string{"socket.pyc", "threading.pyc", "json/__init__.pyc", "encodings/__init__.pyc", "_pyodide/_base.pyc", "pyodide/webloop.pyc"} {
		if !names[name] {
			t.Errorf("no %s", name)
		}
	}
	if n < 100 {
		t.Errorf("%d modules have bytecode, want every one a fresh boot imports (more than 100)", n)
	}
}

func TestPyodideHandler(t *testing.T) {
	srv := httptest.NewServer(PyodideHandler())
	t.Cleanup(srv.Close)
	v := PyodideVersion()
	get := func(t *testing.T, method, path string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		// The transport would otherwise ask for gzip and undo it unseen.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	gz := map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}
	for _, c := range []struct {
		name, ctype, encoding string
	}{
		{"pyodide.asm.wasm", "application/wasm", "gzip"},
		{"pyodide.mjs", "text/javascript; charset=utf-8", "gzip"},
		{"pyodide.asm.mjs", "text/javascript; charset=utf-8", "gzip"},
		{"pyodide-lock.json", "application/json", "gzip"},
		{"python_stdlib.zip", "application/zip", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, "GET", PyodidePath+v+"/"+c.name, gz)
			if resp.StatusCode != 200 {
				t.Fatalf("status %s", resp.Status)
			}
			for k, want := range map[string]string{
				"Content-Type": c.ctype, "Content-Encoding": c.encoding,
				"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			plain := body
			if c.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ = io.ReadAll(zr)
			}
			// Without gzip: the same bytes, decompressed by the server.
			resp2, body2 := get(t, "GET", PyodidePath+v+"/"+c.name, map[string]string{"Accept-Encoding": "gzip;q=0, identity"})
			if resp2.Header.Get("Content-Encoding") != "" || !bytes.Equal(body2, plain) {
				t.Errorf("without gzip: encoding %q, %d bytes, want the %d plain bytes", resp2.Header.Get("Content-Encoding"), len(body2), len(plain))
			}
			resp3, _ := get(t, "GET", PyodidePath+v+"/"+c.name, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
			if resp3.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation: %s, want 304", resp3.Status)
			}
		})
	}
	for _, path := range []string{PyodidePath + "0.0.1/pyodide.mjs", PyodidePath + v + "/SHA256SUMS", PyodidePath + v + "/../LICENSE", PyodidePath + v + "/"} {
		if resp, _ := get(t, "GET", path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
	resp, body := get(t, "GET", PyodidePath+"version.js", nil)
	if want := `export const pyodideURL = "` + PyodidePath + v + `/";`; resp.StatusCode != 200 || !strings.Contains(string(body), want) || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("version.js: %s %q %q, want %s", resp.Status, resp.Header.Get("Cache-Control"), body, want)
	}
	// The build names the vendored files (their manifest), which a
	// snapshot is made from as much as from the version.
	if m, _ := pyodideFS.ReadFile("pyodide/SHA256SUMS"); !strings.Contains(string(body), fmt.Sprintf(`export const pyodideBuild = "%x";`, sha256.Sum256(m))[:len(`export const pyodideBuild = "`)+16]) {
		t.Errorf("version.js: %q, want the build (the manifest's hash)", body)
	}
	// The shim's version names the worker's snapshots: a hash of the
	// files under py/ that a snapshot is made from.
	if sv := shimVersion(); len(sv) != 16 || !strings.Contains(string(body), `export const shimVersion = "`+sv+`";`) {
		t.Errorf("version.js: %q, want the shim's version %q", body, sv)
	}
	if resp, _ := get(t, "POST", PyodidePath+"version.js", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", resp.Status)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "deflate, gzip;q=1.0": true, "gzip;q=0": false, "br": false, "*": true, "GZIP": true, "identity, gzip; q=0": false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", h)
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}
