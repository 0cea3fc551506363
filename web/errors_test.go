package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// packageFiles parses the package's non-test Go files.
func packageFiles(t *testing.T) (*token.FileSet, []*ast.File) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return fset, files
}

// declaredCodes finds every constant of type errorCode: name → value.
func declaredCodes(files []*ast.File) map[string]errorCode {
	codes := map[string]errorCode{}
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "errorCode" {
					continue
				}
				for i, n := range vs.Names {
					v, _ := strconv.Unquote(vs.Values[i].(*ast.BasicLit).Value)
					codes[n.Name] = errorCode(v)
				}
			}
		}
	}
	return codes
}

// TestErrorCodesHaveStatus: every error code is a named constant with its
// status and meaning in errorCodes, and no code is written as a string
// anywhere else (writeError, apiError, a conversion, an assignment).
func TestErrorCodesHaveStatus(t *testing.T) {
	fset, files := packageFiles(t)
	declared := declaredCodes(files)
	if len(declared) == 0 {
		t.Fatal("found no errorCode constants")
	}
	values := map[errorCode]bool{}
	for name, c := range declared {
		values[c] = true
		e, ok := errorCodes[c]
		if !ok || e.status < 400 || e.status > 599 || e.means == "" {
			t.Errorf("%s (%q) has no row in errorCodes with an error status and a meaning: %+v", name, c, e)
		}
	}
	if len(errorCodes) != len(declared) {
		t.Errorf("errorCodes has %d rows for %d codes", len(errorCodes), len(declared))
	}
	literal := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		return ok && lit.Kind == token.STRING
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok == token.CONST {
					return false // the constants themselves
				}
			case *ast.CallExpr:
				if fn, ok := n.Fun.(*ast.Ident); ok && ((fn.Name == "writeError" && len(n.Args) > 1 && literal(n.Args[1])) ||
					(fn.Name == "errorCode" && len(n.Args) == 1 && literal(n.Args[0]))) {
					t.Errorf("%s: an error code written as a string: use its constant", fset.Position(n.Pos()))
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" && literal(n.Value) {
					t.Errorf("%s: an error code written as a string: use its constant", fset.Position(n.Pos()))
				}
			case *ast.BasicLit:
				if v, err := strconv.Unquote(n.Value); n.Kind == token.STRING && err == nil && values[errorCode(v)] {
					t.Errorf("%s: %s is an error code's value: use its constant", fset.Position(n.Pos()), n.Value)
				}
			}
			return true
		})
	}
}

// TestREADMEListsErrorCodes: the README's table of error codes has one row
// per code, with its status and meaning.
func TestREADMEListsErrorCodes(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "| code | status | meaning |\n|---|---|---|\n")
	if !ok {
		t.Fatal("the README has no table of error codes (| code | status | meaning |)")
	}
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| (\\d{3}) \\| (.+) \\|$")
	listed := map[errorCode]bool{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("README: a row not of the form | `code` | status | meaning |: %q", line)
			continue
		}
		c := errorCode(m[1])
		listed[c] = true
		e, ok := errorCodes[c]
		switch {
		case !ok:
			t.Errorf("README lists %s, which is no error code", c)
		case strconv.Itoa(e.status) != m[2] || e.means != m[3]:
			t.Errorf("README: %s is %s, %q; errorCodes says %d, %q", c, m[2], m[3], e.status, e.means)
		}
	}
	for c := range errorCodes {
		if !listed[c] {
			t.Errorf("the README's table of error codes misses %s", c)
		}
	}
}
