package pyrepr

import (
	"bytes"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/sockplay/sockplay/internal/testkit"
)

// TestReprMatchesCPython: Str and Bytes write what CPython's repr writes,
// for quotes, escapes, controls, non-ASCII printable and unprintable
// characters, and bytes that are not UTF-8 (a str of them is what
// surrogateescape makes).
func TestReprMatchesCPython(t *testing.T) {
	py := testkit.Python(t)
	cases := []string{
		"", "plain", "it's", `say "hi"`, `both ' and "`, `back\slash`, "tab\tnl\ncr\r",
		"nul\x00bell\x07del\x7f", "\x85next line", "é and ü", "\u2028\u2029", "\u200bzero width",
		"emoji 🎉", "\U000e0001 tag", "bad \xff\xfe utf-8", "\xc3", "/tmp/x.sock",
	}
	var in bytes.Buffer
	for _, c := range cases {
		in.WriteString(hex.EncodeToString([]byte(c)) + "\n")
	}
	cmd := exec.Command(py, "-c", `import sys
for line in sys.stdin:
    b = bytes.fromhex(line.strip())
    # A repr escapes every unprintable character, so it is printable
    # text and writes as UTF-8.
    sys.stdout.buffer.write(repr(b.decode("utf-8", "surrogateescape")).encode() + b"\n")
    sys.stdout.buffer.write(repr(b).encode() + b"\n")`)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 2*len(cases) {
		t.Fatalf("python3 printed %d lines for %d cases", len(lines), len(cases))
	}
	for i, c := range cases {
		if got, want := Str(c), lines[2*i]; got != want {
			t.Errorf("Str(%q) = %s, CPython %s", c, got, want)
		}
		if got, want := Bytes([]byte(c)), lines[2*i+1]; got != want {
			t.Errorf("Bytes(%q) = %s, CPython %s", c, got, want)
		}
	}
}
