package static

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// TestExamples: every example file is listed once, in order, with a
// docstring that says what it is, and lines of at most 66 columns (the
// code pane's width).
func TestExamples(t *testing.T) {
	files, err := fs.Glob(examplesFS, "py/examples/*.py")
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		files[i] = strings.TrimPrefix(f, "py/examples/")
	}
	slices.Sort(files)
	listed := slices.Clone(exampleOrder)
	slices.Sort(listed)
	if !slices.Equal(files, listed) {
		t.Fatalf("examples embedded %v, listed %v", files, listed)
	}
	for _, e := range Examples() {
		if !strings.HasSuffix(e.Title, ".") || e.About == "" {
			t.Errorf("%s: title %q, about %q", e.Name, e.Title, e.About)
		}
		for n, line := range strings.Split(e.Source, "\n") {
			if len(line) > 66 {
				t.Errorf("%s:%d is %d columns", e.Name, n+1, len(line))
			}
		}
	}
}

func TestExampleWithLabs(t *testing.T) {
	e := Example{Source: strings.Join([]string{
		`HOST, PORT = "127.0.0.1", 7007  # the echo lab (TCP)`,
		`UPPER = ("127.0.0.1", 7009)  # the upper lab (UDP)`,
		`PORT = 7008  # the drip lab (TCP)`,
		`HOST = "127.0.0.1"  # the http lab (TCP)`,
		`OFF = ("127.0.0.1", 7017)  # the file lab (TCP)`,
		`print(7007)  # not a lab`,
		``,
	}, "\n")}
	labs := map[string]string{"echo/tcp": "127.0.0.1:41000", "upper/udp": "[::1]:41001", "drip/tcp": "127.0.0.2:41002", "http/tcp": "10.0.0.1:80"}
	got := e.WithLabs(func(name, proto string) (string, bool) {
		a, ok := labs[name+"/"+proto]
		return a, ok
	})
	want := strings.Join([]string{
		`HOST, PORT = "127.0.0.1", 41000  # the echo lab (TCP)`,
		`UPPER = ("::1", 41001)  # the upper lab (UDP)`,
		`PORT = 41002  # the drip lab (TCP)`,
		`HOST = "10.0.0.1"  # the http lab (TCP)`,
		`OFF = ("127.0.0.1", 7017)  # the file lab (TCP)`,
		`print(7007)  # not a lab`,
		``,
	}, "\n")
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
