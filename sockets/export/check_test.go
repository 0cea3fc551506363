package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sockplay/sockplay/internal/testkit"
)

// checker is one python3 running testdata/checkscript.py for the whole
// test process: the fuzz checks every input with it, and starting CPython
// for each would take most of the time. It ends when the process does
// (its stdin closes).
type checker struct {
	mu  sync.Mutex
	in  io.Writer
	out *bufio.Reader
}

var (
	checkerOnce sync.Once
	theChecker  *checker
	checkerErr  error
)

// pyChecker is the process's checker; without python3 the test skips
// (fails under SOCKPLAY_REQUIRE_PYTHON).
func pyChecker(t testing.TB) *checker {
	t.Helper()
	py := testkit.Python(t)
	checkerOnce.Do(func() {
		cmd := exec.Command(py, "testdata/checkscript.py")
		in, err := cmd.StdinPipe()
		if err != nil {
			checkerErr = err
			return
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			checkerErr = err
			return
		}
		if err := cmd.Start(); err != nil {
			checkerErr = err
			return
		}
		theChecker = &checker{in: in, out: bufio.NewReader(out)}
	})
	if checkerErr != nil {
		t.Fatalf("starting the script checker: %v", checkerErr)
	}
	return theChecker
}

type checkResult struct {
	Problems []string `json:"problems"`
	Calls    []string `json:"calls"`
}

// check has python3 check the script's body, what follows its header.
func (c *checker) check(body string) (checkResult, error) {
	names := make([]string, 0, len(constants))
	for n := range constants {
		names = append(names, n)
	}
	req, err := json.Marshal(map[string]any{"body": body, "trailer": trailer, "constants": names})
	if err != nil {
		return checkResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.in.Write(append(req, '\n')); err != nil {
		return checkResult{}, err
	}
	line, err := c.out.ReadBytes('\n')
	if err != nil {
		return checkResult{}, fmt.Errorf("the checker answered nothing: %w", err)
	}
	var res checkResult
	return res, json.Unmarshal(line, &res)
}

// textProblem is what makes script unfit to be read as Python's source
// whatever is in it: bytes that are not UTF-8, a NUL, a control or other
// unprintable character (other than the line feed), or a header or
// trailer not the export's own; "" when there is none.
func textProblem(script string) string {
	if !utf8.ValidString(script) {
		return "not UTF-8"
	}
	for i, r := range script {
		if r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && !unicode.IsPrint(r)) {
			line := strings.Count(script[:i], "\n") + 1
			return fmt.Sprintf("line %d: character %U", line, r)
		}
	}
	if !strings.HasPrefix(script, header) {
		return "does not begin with the header"
	}
	if !strings.HasSuffix(script, trailer) {
		return "does not end with the trailer"
	}
	return ""
}

// checkScript fails the test unless script is only the export's header,
// the statements and calls an export writes, and its trailer (see
// testdata/checkscript.py); it returns the call targets of its body.
func checkScript(t testing.TB, c *checker, script string) []string {
	t.Helper()
	if p := textProblem(script); p != "" {
		t.Fatalf("the script %s\n--- script ---\n%s", p, script)
	}
	res, err := c.check(strings.TrimPrefix(script, header))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("python3 finds in the script:\n  %s\n--- script ---\n%s", strings.Join(res.Problems, "\n  "), script)
	}
	return res.Calls
}
