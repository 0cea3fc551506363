package sockets

import (
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// What a program in the page does besides its socket calls goes into the
// session's log too, so that watchers follow the program as its socket
// calls, and one who comes late sees what came before: the code that ran,
// what it printed and read, where it waits in a Step, how it ended.

// pythonKinds are the things a "python" op records. The op's origin says
// the file (and, for "line", the line and thread).
var pythonKinds = []string{
	"run",     // a program starts: text is its source
	"step",    // a program starts, to be run a call at a time: text is its source
	"console", // lines entered at the console's prompt: text is them
	"stdout",  // what it printed
	"stderr",  // what it printed to stderr (a traceback, say)
	"stdin",   // what input() read
	"line",    // in a Step, it waits before the call at origin's line
	"exit",    // it ended: text is the uncaught exception's last line, or ""
	"stopped", // it was stopped
}

func checkPython(c *call) error {
	a := c.op.Args.more()
	if !slices.Contains(pythonKinds, a.Kind) {
		return errValue("python kind must be one of %s, not %q", strings.Join(pythonKinds, ", "), a.Kind)
	}
	if !utf8.ValidString(a.Text) {
		return errValue("python text must be UTF-8")
	}
	return nil
}

// pythonOp records it: the event is the record.
func pythonOp(*call) (*Result, error) { return &Result{}, nil }

// gethostnameOp is socket.gethostname(): the host's name, as a program on
// the host gets it.
func gethostnameOp(*call) (*Result, error) {
	name, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	return &Result{Addr: name}, nil
}
