// Package pyrepr writes values as Python's repr writes them, str and
// bytes literals, and text made fit for a comment: one place for the
// engine's messages (which must read as CPython's) and the export's
// script (whose every value must be a literal).
package pyrepr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Str is repr(s): in single quotes, or in double ones if s holds a
// single quote and no double one, as Python chooses.
func Str(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	return Quoted(s, q)
}

// Quoted is a str literal in quote q: printable characters as they are,
// the rest escaped as Python's repr escapes them. A byte that is not
// UTF-8 becomes the lone surrogate Python's surrogateescape gives it, so
// a path keeps its bytes.
func Quoted(s string, q byte) string {
	var b strings.Builder
	b.WriteByte(q)
	escape(&b, s, q, false)
	b.WriteByte(q)
	return b.String()
}

// Comment is text made fit for a Python comment: printable ASCII, every
// other character escaped, so that nothing in it ends the comment (a line
// break), hides in it (a bidi control) or stops the file from reading.
func Comment(s string) string {
	var b strings.Builder
	escape(&b, s, 0, true)
	return b.String()
}

// escape writes s with Python's escapes; quote (when not 0) and
// backslashes are escaped too, and ascii escapes every non-ASCII
// character as well. Invalid UTF-8 bytes are \udcXX (in a str literal,
// surrogateescape's character) or \xXX in a comment.
func escape(b *strings.Builder, s string, quote byte, ascii bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			if ascii {
				fmt.Fprintf(b, `\x%02x`, s[i])
			} else {
				fmt.Fprintf(b, `\udc%02x`, s[i])
			}
			i++
			continue
		}
		i += size
		switch {
		case quote != 0 && (r == rune(quote) || r == '\\'):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= 0x20 && r < 0x7f, !ascii && r >= 0x80 && unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
}

// Bytes is repr(b) of a bytes object.
func Bytes(b []byte) string {
	quote := byte('\'')
	if strings.IndexByte(string(b), '\'') >= 0 && strings.IndexByte(string(b), '"') < 0 {
		quote = '"'
	}
	var sb strings.Builder
	sb.WriteString("b")
	sb.WriteByte(quote)
	for _, c := range b {
		switch {
		case c == quote || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\t':
			sb.WriteString(`\t`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(quote)
	return sb.String()
}

// Run bounds how BytesOf writes a long buffer: past RunLong bytes, one
// that repeats a run of at most RunMax bytes from its start is that run
// times its count (and what is left of it), as the tutorials write it:
// b'x' * 1000000, the same value as its literal. The page's forms
// (static/bytes.js, pyBytesOf) follow the same rule, and cut any other
// long buffer, which is written whole here.
const (
	RunLong = 1024
	RunMax  = 64
)

// BytesOf is a Python expression of b's value: repr(b), or a repeated
// run as above.
func BytesOf(b []byte) string {
	if len(b) <= RunLong {
		return Bytes(b)
	}
	p := period(b)
	if p == 0 {
		return Bytes(b)
	}
	n := len(b) / p
	s := fmt.Sprintf("%s * %d", Bytes(b[:p]), n)
	if tail := b[n*p:]; len(tail) > 0 {
		s += " + " + Bytes(tail)
	}
	return s
}

// period is the length of the shortest run of at most RunMax bytes that
// b repeats from its start (a part of it may end b), or 0.
func period(b []byte) int {
next:
	for p := 1; p <= RunMax && 2*p <= len(b); p++ {
		for i := p; i < len(b); i++ {
			if b[i] != b[i-p] {
				continue next
			}
		}
		return p
	}
	return 0
}
