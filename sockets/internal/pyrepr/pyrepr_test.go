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

// TestBytesOfIsTheValue: BytesOf writes a long repeated run as that run
// times its count, and anything else as its literal; either way CPython
// reads back the very bytes.
func TestBytesOfIsTheValue(t *testing.T) {
	run := func(unit string, n int, tail string) []byte {
		return []byte(strings.Repeat(unit, n) + tail)
	}
	var p64, p65 strings.Builder
	for i := range 64 {
		p64.WriteByte(byte('!' + i))
	}
	for i := range 65 {
		p65.WriteByte(byte('!' + i))
	}
	noise := make([]byte, 2000)
	for i := range noise {
		noise[i] = byte(i*7919 + i*i)
	}
	cases := []struct {
		b    []byte
		want string // "" for the literal
	}{
		{run("x", 1_000_000, ""), "b'x' * 1000000"},
		{run("ab", 600, ""), "b'ab' * 600"},
		{run("abc", 400, "ab"), "b'abc' * 400 + b'ab'"},
		{run("\r\n", 513, ""), `b'\r\n' * 513`},
		{run("x", RunLong, ""), ""},
		{run("x", RunLong+1, ""), "b'x' * 1025"},
		{run(p64.String(), 20, ""), Bytes([]byte(p64.String())) + " * 20"},
		{run(p65.String(), 20, ""), ""},
		{run("x", 2000, "y"), ""},
		{noise, ""},
	}
	var in bytes.Buffer
	for _, c := range cases {
		want := c.want
		if want == "" {
			want = Bytes(c.b)
		}
		if got := BytesOf(c.b); got != want {
			t.Errorf("BytesOf(%d bytes %.12q…) = %.80s, want %.80s", len(c.b), c.b, got, want)
		}
		in.WriteString(hex.EncodeToString(c.b) + "\t" + BytesOf(c.b) + "\n")
	}
	cmd := exec.Command(testkit.Python(t), "-c", `import sys
for line in sys.stdin:
    h, form = line.rstrip("\n").split("\t")
    print(eval(form) == bytes.fromhex(h))`)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	if got, want := strings.TrimSpace(string(out)), strings.TrimSpace(strings.Repeat("True\n", len(cases))); got != want {
		t.Errorf("CPython read the forms back as the bytes: %s", strings.ReplaceAll(got, "\n", " "))
	}
}
