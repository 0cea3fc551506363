package sockets

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/sockets/internal/pyrepr"
)

// Error is how a failed op is reported: the errno name and number (when the
// kernel produced one), the Python exception CPython would raise, and a
// message in CPython's words.
type Error struct {
	Errno string `json:"errno,omitempty"`
	Num   int    `json:"num,omitempty"`
	Exc   string `json:"exc"`
	Msg   string `json:"msg"`
}

func (e *Error) Error() string {
	if e.Errno != "" {
		return fmt.Sprintf("%s: [Errno %d] %s", e.Exc, e.Num, e.Msg)
	}
	return e.Exc + ": " + e.Msg
}

// pyExceptions is CPython's errno → OSError subclass table
// (Objects/exceptions.c, _PyExc_InitState).
var pyExceptions = map[unix.Errno]string{
	unix.EAGAIN:       "BlockingIOError",
	unix.EALREADY:     "BlockingIOError",
	unix.EINPROGRESS:  "BlockingIOError",
	unix.ECHILD:       "ChildProcessError",
	unix.EPIPE:        "BrokenPipeError",
	unix.ESHUTDOWN:    "BrokenPipeError",
	unix.ECONNABORTED: "ConnectionAbortedError",
	unix.ECONNREFUSED: "ConnectionRefusedError",
	unix.ECONNRESET:   "ConnectionResetError",
	unix.EEXIST:       "FileExistsError",
	unix.ENOENT:       "FileNotFoundError",
	unix.EISDIR:       "IsADirectoryError",
	unix.ENOTDIR:      "NotADirectoryError",
	unix.EINTR:        "InterruptedError",
	unix.EACCES:       "PermissionError",
	unix.EPERM:        "PermissionError",
	unix.ESRCH:        "ProcessLookupError",
	unix.ETIMEDOUT:    "TimeoutError",
}

// errnoError converts a kernel errno into the error Python would raise.
func errnoError(e unix.Errno) *Error {
	exc, ok := pyExceptions[e]
	if !ok {
		exc = "OSError"
	}
	msg := e.Error()
	if msg != "" {
		// Go's table is glibc's strerror with the first letter lowered.
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return &Error{Errno: unix.ErrnoName(e), Num: int(e), Exc: exc, Msg: msg}
}

// errTimeout is socket.timeout, which since Python 3.10 is TimeoutError
// with no errno.
func errTimeout() *Error { return &Error{Exc: "TimeoutError", Msg: "timed out"} }

func errValue(format string, a ...any) *Error {
	return &Error{Exc: "ValueError", Msg: fmt.Sprintf(format, a...)}
}

func errType(format string, a ...any) *Error {
	return &Error{Exc: "TypeError", Msg: fmt.Sprintf(format, a...)}
}

// gaiError is socket.gaierror; its errno is the negative EAI_* code.
func gaiError(code int, msg string) *Error {
	name := map[int]string{-2: "EAI_NONAME", -9: "EAI_ADDRFAMILY", -3: "EAI_AGAIN", -8: "EAI_SERVICE"}[code]
	return &Error{Errno: name, Num: code, Exc: "gaierror", Msg: msg}
}

// asError maps whatever a syscall path returned onto a Python error. A
// closed os.File (the socket was closed while the op waited) is EBADF, as a
// call on a closed Python socket is; an expired deadline is a timeout.
func asError(err error) *Error {
	if err == nil {
		return nil
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errTimeout()
	}
	if errors.Is(err, os.ErrClosed) {
		return errnoError(unix.EBADF)
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return errnoError(en)
	}
	return &Error{Exc: "OSError", Msg: err.Error()}
}

func errSessionEnded() *Error { return &Error{Exc: "OSError", Msg: "this session has ended"} }

// errBadFD is a call on a closed socket, as CPython's on a closed fd.
func errBadFD() error { return unix.EBADF }

// errNoSocket is an op on a socket the session does not have: to a Python
// program, a name that is not defined.
func errNoSocket(id string) *Error {
	return &Error{Exc: "NameError", Msg: "name '" + id + "' is not defined: there is no socket " + id + " in this session"}
}

// pyRepr is a str's repr, as Python writes it in a message.
func pyRepr(s string) string { return pyrepr.Str(s) }
