package static

import (
	"slices"
	"testing"
)

// The preload list holds every module the page loads and nothing else.
func TestPageModules(t *testing.T) {
	for _, want := range []string{"app.js", "state.js", "addr.js", "ruler/draw.js", "py/python.js", "py/record.js"} {
		if !slices.Contains(PageModules, want) {
			t.Errorf("PageModules lacks %s: %v", want, PageModules)
		}
	}
	for _, not := range []string{"py/worker.js", "py/snapshot.js"} {
		if slices.Contains(PageModules, not) {
			t.Errorf("PageModules has the worker's %s", not)
		}
	}
	for _, m := range PageModules {
		if _, err := FS.Open(m); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}
