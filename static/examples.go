package static

import (
	"embed"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// examplesFS holds the tutorials' programs the page offers in its code
// pane: real Python 3 files, which run as they are in the host's CPython
// against the labs, and in the page.
//
//go:embed py/examples/*.py
var examplesFS embed.FS

// exampleOrder is the order the page lists the examples in: from a first
// client to servers of many clients.
var exampleOrder = []string{
	"echo-client.py",
	"echo-server.py",
	"thread-per-client.py",
	"udp-upper-client.py",
	"udp-upper-server.py",
	"http-get.py",
	"partial-reads.py",
	"reassembly.py",
	"send-vs-sendall.py",
	"timeouts.py",
	"unix-sockets.py",
	"select-server.py",
	"socketserver-echo.py",
}

// Example is one of those programs.
type Example struct {
	// Name is its file name, which is also the program's name in its
	// tracebacks and in the origin of its calls.
	Name string
	// Title and About are its docstring's first line and the rest of it.
	Title, About string
	// Source is the file as written: lab addresses are the labs' default
	// ones (see WithLabs).
	Source string
}

// Examples lists the examples in the page's order.
func Examples() []Example {
	out := make([]Example, 0, len(exampleOrder))
	for _, name := range exampleOrder {
		b, err := examplesFS.ReadFile("py/examples/" + name)
		if err != nil {
			panic("static: example " + name + " is listed but not embedded: " + err.Error())
		}
		src := string(b)
		title, about := docstring(src)
		out = append(out, Example{Name: name, Title: title, About: about, Source: src})
	}
	return out
}

// docstring is the title (first line) and the rest of the module
// docstring that opens src, as one paragraph.
func docstring(src string) (title, about string) {
	body, ok := strings.CutPrefix(src, `"""`)
	if !ok {
		return "", ""
	}
	body, _, _ = strings.Cut(body, `"""`)
	title, rest, _ := strings.Cut(body, "\n")
	return strings.TrimSpace(title), strings.Join(strings.Fields(rest), " ")
}

// labLine marks a line that holds a lab's address: "# the echo lab (TCP)".
var labLine = regexp.MustCompile(`#\s*the ([a-z]+) lab \((TCP|UDP)\)`)

var (
	quoted  = regexp.MustCompile(`"[^"]*"`)
	integer = regexp.MustCompile(`\b\d+\b`)
)

// WithLabs is the example's source with the address on each line marked
// "# the NAME lab (PROTO)" made the lab's real one: addr gives a lab's
// "host:port" by name and proto ("tcp", "udp"). On such a line the first
// string is the host and the last number before the comment the port. A
// lab addr does not know stays as written.
func (e Example) WithLabs(addr func(name, proto string) (string, bool)) string {
	lines := strings.SplitAfter(e.Source, "\n")
	for i, line := range lines {
		m := labLine.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		a, ok := addr(line[m[2]:m[3]], strings.ToLower(line[m[4]:m[5]]))
		if !ok {
			continue
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		code, hostAt := line[:m[0]], -1
		if loc := quoted.FindStringIndex(code); loc != nil {
			// A placeholder of the same length, so that no number
			// inside the host is taken for the port.
			hostAt = loc[0]
			code = code[:loc[0]] + strings.Repeat("_", loc[1]-loc[0]) + code[loc[1]:]
		}
		if nums := integer.FindAllStringIndex(code, -1); len(nums) > 0 {
			last := nums[len(nums)-1]
			code = code[:last[0]] + port + code[last[1]:]
		}
		if hostAt >= 0 {
			end := hostAt + strings.IndexFunc(code[hostAt:], func(r rune) bool { return r != '_' })
			if end < hostAt {
				end = len(code)
			}
			code = code[:hostAt] + strconv.Quote(host) + code[end:]
		}
		lines[i] = code + line[m[0]:]
	}
	return strings.Join(lines, "")
}
