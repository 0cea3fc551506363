package labs

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/sockplay/sockplay/"

// imports lists the packages the non-test Go files under dir import.
func imports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	found := map[string][]string{} // import path → files
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			found[p] = append(found[p], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// The labs are servers like any other to the engine: neither uses the
// other, so either can change without the other knowing.
func TestLabsAndEngineApart(t *testing.T) {
	engine := imports(t, "../sockets")
	if len(engine) == 0 {
		t.Fatal("found no imports under ../sockets: is the engine still there?")
	}
	if files, ok := engine[module+"labs"]; ok {
		t.Errorf("the engine imports the labs: %v", files)
	}
	for p, files := range imports(t, ".") {
		if strings.HasPrefix(p, module+"sockets") {
			t.Errorf("the labs import %s: %v", p, files)
		}
	}
}
