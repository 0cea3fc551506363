package export

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/sockplay/sockplay/sockets"
	"github.com/sockplay/sockplay/sockets/internal/pyrepr"
)

// The script is code that someone runs, made of values that whoever could
// put ops into the session chose. So a value reaches it only as a Python
// literal written here, or as a name from a fixed list (a socket's
// variable, a constant of the socket module sockplay knows); comments are
// printable ASCII. Anything else is not written as code at all.

// varRe is a socket's variable: the engine names sockets s1, s2, ...; no
// other name is written as one (not a keyword, a builtin or a module).
var varRe = regexp.MustCompile(`^s[0-9]+$`)

func isVar(s string) bool { return varRe.MatchString(s) }

// constants are the socket module's names the script may write as
// socket.NAME: the families, types and shutdown modes it writes, and the
// option levels and names the engine knows (sockets' table of options).
var constants = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{"AF_INET", "AF_INET6", "AF_UNIX", "SOCK_STREAM", "SOCK_DGRAM", "SHUT_RD", "SHUT_WR", "SHUT_RDWR"} {
		m[n] = true
	}
	for _, n := range sockets.SockoptLevels() {
		m[n] = true
	}
	for _, n := range sockets.SockoptNames() {
		m[n] = true
	}
	return m
}()

// pyStr is a str literal in single quotes, as the page writes it.
func pyStr(s string) string { return pyrepr.Quoted(s, '\'') }

// comment is text made fit for a Python comment: printable ASCII.
func comment(s string) string { return pyrepr.Comment(s) }

// PyBytes is Python's repr of a bytes object.
func PyBytes(b []byte) string { return pyrepr.Bytes(b) }

// pyBytesOf is b's value as Python: its literal, or a long repeated run
// as that run times its count (pyrepr.BytesOf).
func pyBytesOf(b []byte) string { return pyrepr.BytesOf(b) }

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// pyFloat is Python's repr of a float: 2.0, 0.3, 1e-09; inf and nan, which
// are no literals, as Python prints them.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if strings.ContainsAny(s, "e") {
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		digits := strings.TrimLeft(exp[1:], "0")
		if len(digits) < 2 {
			digits = fmt.Sprintf("%02s", digits)
		}
		return mant + "e" + string(sign) + digits
	}
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// floatLiteral is pyFloat, and whether that is a literal (not inf, nan).
func floatLiteral(f float64) (string, string) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return pyFloat(f), "a number that is not finite"
	}
	return pyFloat(f), ""
}

// jsonNumberRe is a JSON number, which reads in Python as the same number
// (the minus as an operator); numbers with more digits than this are no
// value a socket takes, and Python refuses ints of thousands of digits.
var jsonNumberRe = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,39})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?$`)

// jsonLiteral writes a JSON scalar (a number, a string, true, false,
// null) as the Python literal of the same value; problem says why raw is
// not one (an array, an object, text that is not JSON).
func jsonLiteral(raw []byte) (string, string) {
	v := strings.TrimSpace(string(raw))
	switch {
	case v == "true":
		return "True", ""
	case v == "false":
		return "False", ""
	case v == "null":
		return "None", ""
	case jsonNumberRe.MatchString(v):
		return v, ""
	case strings.HasPrefix(v, `"`):
		var s string
		if err := json.Unmarshal([]byte(v), &s); err == nil {
			return pyStr(s), ""
		}
	}
	return v, "a value that is not a number, a string, a boolean or null"
}
