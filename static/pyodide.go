package static

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
)

// pyodideFS is the vendored Pyodide core (scripts/update-pyodide.sh), kept
// apart from FS so that the plain file server never sends it uncompressed
// and uncached.
//
//go:embed pyodide
var pyodideFS embed.FS

// PyodidePath is where PyodideHandler expects to be mounted: its files are
// at PyodidePath + VERSION + "/" + name, and PyodidePath + "version.js"
// says which version that is.
const PyodidePath = "/static/pyodide/"

// pyodideTypes are the content types of the core's files: the wasm must be
// application/wasm for WebAssembly.instantiateStreaming to compile it as it
// arrives.
var pyodideTypes = map[string]string{
	".wasm": "application/wasm",
	".mjs":  "text/javascript; charset=utf-8",
	".json": "application/json",
	".zip":  "application/zip",
}

// pyodideFile is one file of the core as it is served: read from the
// binary's data each time (embed's files seek and read in place, so the
// 6 MB are never copied onto the heap).
type pyodideFile struct {
	path  string // in pyodideFS; gzipped when gzip is set
	size  int64
	gzip  bool
	ctype string
	etag  string
}

// pyodideCore is the manifest read once: the version and the files.
type pyodideCore struct {
	version string
	build   string // a hash of the manifest: which files, not only which version
	files   map[string]pyodideFile
	sums    map[string]string // sha256 of each file before gzip
}

var loadPyodide = sync.OnceValues(func() (*pyodideCore, error) { return readPyodide(pyodideFS) })

// readPyodide reads the vendored core and its manifest, SHA256SUMS: its
// "# pyodide VERSION" line and a "sha256  name" line per file.
func readPyodide(fsys embed.FS) (*pyodideCore, error) {
	m, err := fsys.ReadFile("pyodide/SHA256SUMS")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(m)
	c := &pyodideCore{build: fmt.Sprintf("%x", sum[:8]), files: map[string]pyodideFile{}, sums: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(m))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "# pyodide "); ok {
			c.version = v
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			return nil, fmt.Errorf("pyodide/SHA256SUMS: bad line %q", line)
		}
		f := pyodideFile{ctype: pyodideTypes[path.Ext(name)], etag: `"` + sum[:32] + `"`}
		if f.ctype == "" {
			return nil, fmt.Errorf("pyodide/SHA256SUMS: no content type for %s", name)
		}
		f.path = "pyodide/" + name + ".gz"
		st, err := fs.Stat(fsys, f.path)
		if err == nil {
			f.gzip = true
		} else {
			f.path = "pyodide/" + name
			if st, err = fs.Stat(fsys, f.path); err != nil {
				return nil, fmt.Errorf("pyodide/SHA256SUMS lists %s, which is not vendored", name)
			}
		}
		f.size = st.Size()
		c.files[name] = f
		c.sums[name] = sum
	}
	if c.version == "" || len(c.files) == 0 {
		return nil, fmt.Errorf("pyodide/SHA256SUMS names no version or no files")
	}
	return c, nil
}

// PyodideVersion is the vendored Pyodide's version (e.g. "314.0.8").
func PyodideVersion() string {
	c, err := loadPyodide()
	if err != nil {
		return ""
	}
	return c.version
}

// PyodideHandler serves the vendored Pyodide core under PyodidePath, same
// origin: each file at a URL that names its version, so it is cached for a
// year and never revalidated; gzipped as stored (decompressed on the fly
// for the rare client that does not accept gzip); and version.js, a module
// saying where the current version is, revalidated on each load.
func PyodideHandler() http.Handler {
	c, err := loadPyodide()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			http.Error(w, "the vendored Pyodide is broken: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, PyodidePath)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if rest == "version.js" {
			c.serveVersion(w, r)
			return
		}
		version, name, _ := strings.Cut(rest, "/")
		f, ok := c.files[name]
		if !ok || version != c.version {
			http.Error(w, fmt.Sprintf("no %s in the vendored Pyodide %s (see %sversion.js)", rest, c.version, PyodidePath), http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", f.etag)
		h.Set("Vary", "Accept-Encoding")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Header.Get("If-None-Match") == f.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		plain := !f.gzip || acceptsGzip(r)
		if plain {
			if f.gzip {
				h.Set("Content-Encoding", "gzip")
			}
			h.Set("Content-Length", fmt.Sprint(f.size))
		}
		if r.Method == http.MethodHead {
			return
		}
		file, err := pyodideFS.Open(f.path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer file.Close()
		var body io.Reader = file
		if !plain {
			if body, err = gzip.NewReader(file); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		_, _ = io.Copy(w, body)
	})
}

// shimVersion names the Python worker and its shim as this binary has
// them: a hash of the files under py/ (worker.js and the modules it
// installs), which are what a memory snapshot of the worker's Python is
// made from (static/py/snapshot.js). A snapshot made by another version
// is never booted.
var shimVersion = sync.OnceValue(func() string {
	h := sha256.New()
	for _, pattern := range []string{"py/*.js", "py/lib/*.py"} {
		names, _ := fs.Glob(FS, pattern) // sorted
		for _, name := range names {
			b, err := FS.ReadFile(name)
			if err != nil {
				panic("static: " + name + " is embedded but unreadable: " + err.Error())
			}
			fmt.Fprintf(h, "%s %d\n", name, len(b))
			h.Write(b)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:16]
})

// serveVersion is version.js: `export const pyodideURL = ".../VERSION/"`,
// the vendored files' build (a hash of SHA256SUMS: a memory snapshot
// holds the standard library's zip directory as it was read, so a
// snapshot of one stdlib must not boot over another of the same
// version), and the shim's version.
func (c *pyodideCore) serveVersion(w http.ResponseWriter, r *http.Request) {
	body := fmt.Sprintf("// The vendored Pyodide (static/pyodide/SHA256SUMS), and the shim's version (static/py).\nexport const pyodideVersion = %q;\nexport const pyodideBuild = %q;\nexport const pyodideURL = %q;\nexport const shimVersion = %q;\n", c.version, c.build, PyodidePath+c.version+"/", shimVersion())
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256([]byte(body)))
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = io.WriteString(w, body)
}

// acceptsGzip reports whether the request's Accept-Encoding admits gzip
// (and does not refuse it with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
