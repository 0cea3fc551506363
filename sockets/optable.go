package sockets

import (
	"encoding/json"
	"slices"
	"sort"
	"sync"
)

// opSpec is everything the engine knows of one op. Adding an op is one
// entry in opTable and the function it runs.
type opSpec struct {
	OpInfo
	// laneOf, when set, says the lane of a call from its arguments.
	laneOf func(a *Args) lane
	// closedOK: it runs on a closed socket (and answers as CPython does
	// there); every other op on one is EBADF before anything else.
	closedOK bool
	// connects: it counts against -max-pending-connects, so its check and
	// its becoming pending are one step (see dispatch).
	connects bool
	// check validates a call before it is queued, so that bad input is
	// answered at once and never waits behind a pending call.
	check func(c *call) error
	run   func(c *call) (*Result, error)
	// num is the op's index in OpNames, by which a Meter counts it.
	num int
}

// OpInfo is what the table says of an op that others read: the page and
// the export (how it reads as Python), and clients (GET /api/ops).
type OpInfo struct {
	// Args are the arguments it takes, by their JSON names: any other is
	// a TypeError, as in Python (silently ignoring one would let
	// recv(4, timeout=0) block forever when it was meant not to).
	Args []string `json:"args"`
	// Socket says it acts on a socket ("sock"); the others act on the
	// session.
	Socket bool `json:"socket"`
	// Lane is the queue of its socket it waits in for its turn: calls
	// that can block wait per direction (recvs in order, sends in order,
	// connect both). An op without one runs at once, even while an
	// earlier call on the socket is pending, as from a second Python
	// thread.
	Lane lane `json:"lane,omitempty"`
	// Blocks says a call may be pending: it waits for the kernel, or for
	// a name lookup.
	Blocks bool `json:"blocks"`
	// Py is how a call reads as Python (see "A call's Python form");
	// PyOff is the form of an auto loop turned off. Result says how its
	// value reads: one of resultForms.
	Py     string `json:"py"`
	PyOff  string `json:"py_off,omitempty"`
	Result string `json:"result"`
}

// A call's Python form (Py) is its text with placeholders:
//
//	{sock}    the socket's name; with no name, "{sock}." and "{sock}, "
//	          go altogether (the short form a socket's own row shows)
//	{arg}     the argument arg, as Python writes it (see static/ops.js
//	          and sockets/export, which render both)
//	{arg?}    the argument if the call has it, else nothing (with the
//	          ", " before it)
//	{arg=?}   the argument as a keyword, arg=..., if the call has it
//	{arg|d}   the argument, or d when the call has none
//
// Constants and module functions are written socket.X; the short form
// leaves "socket." out.

// lane says which of a socket's queues a call waits in.
type lane = string

const (
	laneNone  lane = ""
	laneRead  lane = "read"
	laneWrite lane = "write"
	laneBoth  lane = "both"
)

// resultForms are how an op's value reads in Python, for Result.
var resultForms = []string{
	"none",       // None
	"socket",     // the new socket (assigned to its name)
	"bytes",      // result.b64 as a bytes literal
	"bytes_addr", // (bytes, address or None): recvfrom
	"n",          // result.n
	"accepted",   // (<socket result.sock>, result.peer)
	"local",      // result.local as an address
	"peer",       // result.peer as an address
	"value",      // getsockopt's result.value
	"timeout",    // None or result.timeout
	"host",       // result.addr as a str
	"addrinfo",   // getaddrinfo's list
	"select",     // the three lists of ready sockets
}

var opTable = map[string]*opSpec{
	"socket": {OpInfo: OpInfo{Args: []string{"family", "type"},
		Py: "socket.socket({family}, {type})", Result: "socket"},
		run: newSocketOp},
	"getaddrinfo": {OpInfo: OpInfo{Args: []string{"host", "port", "family", "type"}, Blocks: true,
		Py: "socket.getaddrinfo({host}, {port}{family=?}{type=?})", Result: "addrinfo"},
		run: getaddrinfoOp},
	"gethostbyname": {OpInfo: OpInfo{Args: []string{"host"}, Blocks: true,
		Py: "socket.gethostbyname({host})", Result: "host"},
		run: gethostbynameOp},
	"gethostname": {OpInfo: OpInfo{
		Py: "socket.gethostname()", Result: "host"},
		run: gethostnameOp},
	"unlink": {OpInfo: OpInfo{Args: []string{"addr"},
		Py: "os.unlink({addr})", Result: "none"},
		check: checkUnlink, run: unlinkOp},
	"python": {OpInfo: OpInfo{Args: []string{"kind", "text"},
		Py: "# {kind}: {text}", Result: "none"},
		check: checkPython, run: pythonOp},
	"focus": {OpInfo: OpInfo{Args: []string{"focus"},
		Py: "# looking at {focus}", Result: "none"},
		check: checkFocus, run: focusOp},
	"select": {OpInfo: OpInfo{Args: []string{"rlist", "wlist", "xlist", "timeout"}, Blocks: true,
		Py: "select.select({rlist}, {wlist}, {xlist}, {timeout?})", Result: "select"},
		check: checkSelect, run: selectOp},

	"bind": {OpInfo: OpInfo{Args: []string{"addr"}, Socket: true,
		Py: "{sock}.bind({addr})", Result: "none"},
		check: needAddr, run: bindOp},
	"listen": {OpInfo: OpInfo{Args: []string{"backlog"}, Socket: true,
		Py: "{sock}.listen({backlog?})", Result: "none"},
		check: checkBacklog, run: listenOp},
	"accept": {OpInfo: OpInfo{Socket: true, Lane: laneRead, Blocks: true,
		Py: "{sock}.accept()", Result: "accepted"},
		run: acceptOp},
	"connect": {OpInfo: OpInfo{Args: []string{"addr"}, Socket: true, Lane: laneBoth, Blocks: true,
		Py: "{sock}.connect({addr})", Result: "none"},
		connects: true, check: checkConnect, run: connectOp},

	"send": {OpInfo: OpInfo{Args: []string{"data"}, Socket: true, Lane: laneWrite, Blocks: true,
		Py: "{sock}.send({data})", Result: "n"},
		check: needData, run: sendOp},
	"sendall": {OpInfo: OpInfo{Args: []string{"data"}, Socket: true, Lane: laneWrite, Blocks: true,
		Py: "{sock}.sendall({data})", Result: "none"},
		check: needData, run: sendallOp},
	"sendto": {OpInfo: OpInfo{Args: []string{"data", "addr"}, Socket: true, Lane: laneWrite, Blocks: true,
		Py: "{sock}.sendto({data}, {addr})", Result: "n"},
		check: checkSendto, run: sendOp},
	"sendchunks": {OpInfo: OpInfo{Args: []string{"data", "chunk", "delay"}, Socket: true, Lane: laneWrite, Blocks: true,
		Py: "sendchunks({sock}, {data}, chunk={chunk}, delay={delay|0.0})", Result: "n"},
		check: checkSendchunks, run: sendchunksOp},

	"recv": {OpInfo: OpInfo{Args: []string{"bufsize"}, Socket: true, Lane: laneRead, Blocks: true,
		Py: "{sock}.recv({bufsize})", Result: "bytes"},
		check: needBufsize, run: recvOp},
	"recvfrom": {OpInfo: OpInfo{Args: []string{"bufsize"}, Socket: true, Lane: laneRead, Blocks: true,
		Py: "{sock}.recvfrom({bufsize})", Result: "bytes_addr"},
		check: needBufsize, run: recvOp},
	"recvall": {OpInfo: OpInfo{Args: []string{"bufsize"}, Socket: true, Lane: laneRead, Blocks: true,
		Py: "recvall({sock}, {bufsize})", Result: "bytes"},
		check: needBufsize, run: recvallOp},
	"autorecv": {OpInfo: OpInfo{Args: []string{"bufsize", "on"}, Socket: true,
		Py: "autorecv({sock}, {bufsize|" + itoa(DefaultAutoBufsize) + "})", PyOff: "autorecv({sock}, off)", Result: "none"},
		check: checkAutorecv, run: autorecvOp},
	"autoaccept": {OpInfo: OpInfo{Args: []string{"on"}, Socket: true,
		Py: "autoaccept({sock})", PyOff: "autoaccept({sock}, off)", Result: "none"},
		run: autoacceptOp},

	"settimeout": {OpInfo: OpInfo{Args: []string{"timeout"}, Socket: true,
		Py: "{sock}.settimeout({timeout})", Result: "none"},
		closedOK: true, check: checkTimeout, run: settimeoutOp},
	"setblocking": {OpInfo: OpInfo{Args: []string{"flag"}, Socket: true,
		Py: "{sock}.setblocking({flag})", Result: "none"},
		closedOK: true, check: needFlag, run: settimeoutOp},
	"gettimeout": {OpInfo: OpInfo{Socket: true,
		Py: "{sock}.gettimeout()", Result: "timeout"},
		closedOK: true, run: gettimeoutOp},
	"setsockopt": {OpInfo: OpInfo{Args: []string{"level", "name", "value"}, Socket: true,
		Py: "{sock}.setsockopt({level}, {name}, {value})", Result: "none"},
		check: needOptname, run: setsockoptOp},
	"getsockopt": {OpInfo: OpInfo{Args: []string{"level", "name"}, Socket: true,
		Py: "{sock}.getsockopt({level}, {name})", Result: "value"},
		check: needOptname, run: getsockoptOp},
	"shutdown": {OpInfo: OpInfo{Args: []string{"how"}, Socket: true, Lane: laneWrite,
		Py: "{sock}.shutdown({how})", Result: "none"},
		laneOf: shutdownLane, check: needHow, run: shutdownOp},
	"close": {OpInfo: OpInfo{Socket: true,
		Py: "{sock}.close()", Result: "none"},
		closedOK: true, run: closeOp},
	"getsockname": {OpInfo: OpInfo{Socket: true,
		Py: "{sock}.getsockname()", Result: "local"},
		run: getsocknameOp},
	"getpeername": {OpInfo: OpInfo{Socket: true,
		Py: "{sock}.getpeername()", Result: "peer"},
		run: getpeernameOp},
}

func init() {
	// The table must mean what it says: every argument an Args field,
	// every result form known, a run for every op.
	for name, spec := range opTable {
		for _, a := range spec.Args {
			if !slices.Contains(argNames, a) {
				panic("op " + name + " takes an argument Args does not have: " + a)
			}
		}
		if !slices.Contains(resultForms, spec.Result) || spec.run == nil {
			panic("op " + name + ": no run, or an unknown result form " + spec.Result)
		}
	}
	for i, name := range OpNames() {
		opTable[name].num = i
	}
}

// allowed is the arguments the op takes, sorted, for error messages.
func (spec *opSpec) allowed() []string {
	s := slices.Clone(spec.Args)
	sort.Strings(s)
	return s
}

// lane is where a call waits.
func (spec *opSpec) lane(a *Args) lane {
	if spec.laneOf != nil {
		return spec.laneOf(a)
	}
	return spec.Lane
}

// LookupOp is what the table says of an op, if there is one.
func LookupOp(name string) (OpInfo, bool) {
	spec := opTable[name]
	if spec == nil {
		return OpInfo{}, false
	}
	return spec.OpInfo, true
}

// IsOp reports whether the engine knows the op.
func IsOp(name string) bool { return opTable[name] != nil }

// OpNames lists every op, sorted.
func OpNames() []string {
	names := make([]string, 0, len(opTable))
	for n := range opTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OpTableJSON is the op table as the page and clients read it: each op's
// OpInfo. The slice is shared: never change it.
var OpTableJSON = sync.OnceValue(func() []byte {
	b, err := json.Marshal(opTable)
	if err != nil {
		panic(err) // the table is static
	}
	return b
})
