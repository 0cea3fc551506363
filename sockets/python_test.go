package sockets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockplay/sockplay/internal/testkit"
)

// TestMatchesPython holds the engine to its promise: for the same sequence
// of calls, the results CPython's socket module gives on this host. Each
// scenario runs twice, through the engine and through python3, at the same
// time, each run against its own loopback servers; then the outcomes are
// compared step by step.
func TestMatchesPython(t *testing.T) {
	py := testkit.Python(t)
	for _, sc := range pyScenarios {
		t.Run(sc.name, func(t *testing.T) {
			envs := newPyEnvs(t, 2)
			engEnv, pyEnv := envs[0], envs[1]
			if sc.needV6 && engEnv.V6UDP[0] == "" {
				t.Skip("no IPv6 loopback here")
			}
			engSteps, pySteps := sc.steps(engEnv), sc.steps(pyEnv)
			script, stmts, err := pyScript(pySteps)
			if err != nil {
				t.Fatal(err)
			}
			wait := startPython(t, py, script)
			engine := runEngineSteps(t, engSteps)
			python := wait(len(pySteps))

			for i := range engSteps {
				what := engSteps[i].Op
				if engSteps[i].Sock != "" {
					what = engSteps[i].Sock + "." + what
				}
				if slices.Contains(sc.partial, i) {
					d, _ := engSteps[i].Data.Bytes()
					for _, o := range []pyOutcome{engine[i], python[i]} {
						if !o.OK || o.N == nil || *o.N <= 0 || *o.N >= len(d) {
							t.Errorf("%s step %d (%s): not a partial send of %d bytes\n  python: %s\n  engine: %s", sc.name, i, what, len(d), python[i], engine[i])
						}
					}
					engine[i].N, python[i].N = ip(1), ip(1) // checked: now only the rest counts
				}
				if d := pyCompare(engSteps[i].Op, engine[i], engEnv, python[i], pyEnv); d != "" {
					t.Errorf("%s step %d (%s): %s\n  python: %s\n  engine: %s\n  statement: %s",
						sc.name, i, what, d, python[i], engine[i], stmts[i])
				}
			}
		})
	}
}

// pyScenario is a sequence of calls. steps gets the addresses of one run's
// servers, as each run has its own.
type pyScenario struct {
	name   string
	needV6 bool
	steps  func(e *pyEnv) []Op
	// partial are the steps whose send count differs from run to run:
	// each side's must be partial, more than 0 and less than all.
	partial []int
}

// Step builders, to keep the table close to the Python it stands for.
func pySocket(family, typ string) Op { return op("socket", "", Args{Family: family, Type: typ}) }
func pyAddrOp(name, sock, addr string) Op {
	return op(name, sock, Args{Addr: addr})
}
func pyRecv(sock string, n int) Op     { return op("recv", sock, Args{Bufsize: ip(n)}) }
func pyRecvfrom(sock string, n int) Op { return op("recvfrom", sock, Args{Bufsize: ip(n)}) }
func pySend(name, sock, data string) Op {
	return op(name, sock, Args{Data: text(data)})
}
func pySendto(sock, data, addr string) Op {
	return op("sendto", sock, Args{Data: text(data), Addr: addr})
}
func pyTimeout(sock string, sec float64) Op {
	return op("settimeout", sock, Args{Timeout: seconds(sec)})
}
func pyBlocking(sock string, flag bool) Op {
	return op("setblocking", sock, Args{Flag: bp(flag)})
}
func pyShutdown(sock string, how int) Op {
	h := How(how)
	return op("shutdown", sock, Args{How: &h})
}
func pyListen(sock string, n int) Op { return op("listen", sock, Args{Backlog: ip(n)}) }
func pyBare(name, sock string) Op    { return op(name, sock, Args{}) }
func pySetopt(sock, level, name, value string) Op {
	return op("setsockopt", sock, Args{Level: level, Name: name, Value: json.RawMessage(value)})
}
func pyGetopt(sock, level, name string) Op {
	return op("getsockopt", sock, Args{Level: level, Name: name})
}

// Every scenario is deterministic: a recv that must see data either comes
// after a blocking call that already delivered it on loopback, or waits
// with a timeout long enough for it to arrive.
var pyScenarios = []pyScenario{
	{name: "partial reads", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s1", e.Echo),
			pySend("sendall", "s1", "hello world"),
			pyTimeout("s1", 2),
			pyRecv("s1", 4),
			pyRecv("s1", 4),
			pyRecv("s1", 4),
			pyTimeout("s1", 0.2),
			pyRecv("s1", 4),
		}
	}},
	{name: "recv timeout", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s1", e.Silent),
			pyTimeout("s1", 0.2),
			pyRecv("s1", 4),
			pyRecv("s1", 0),
		}
	}},
	{name: "connection refused", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s1", e.Refused),
			pySocket("inet", "stream"),
			pyTimeout("s2", 2),
			pyAddrOp("connect", "s2", e.Refused),
		}
	}},
	{name: "EOF after half-close", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s1", e.Echo),
			pySend("sendall", "s1", "bye"),
			pyShutdown("s1", unix.SHUT_WR),
			pyRecv("s1", 64),
			pyRecv("s1", 64),
			pyRecv("s1", 64),
			pySend("send", "s1", "late"),
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s2", e.Echo),
			pyShutdown("s2", unix.SHUT_RD),
			pyRecv("s2", 4),
		}
	}},
	{name: "connect again after a refused one", steps: func(e *pyEnv) []Op {
		return []Op{
			// Blocking: the failed connect leaves the socket as new.
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s1", e.Refused),
			pyAddrOp("connect", "s1", e.Silent),
			pyBare("getpeername", "s1"),
			// Timeout mode: poll and SO_ERROR leave it connecting, so the
			// next connect is ECONNABORTED, and the one after works.
			pySocket("inet", "stream"),
			pyTimeout("s2", 2),
			pyAddrOp("connect", "s2", e.Refused),
			pyAddrOp("connect", "s2", e.Silent),
			pyAddrOp("connect", "s2", e.Silent),
		}
	}},
	{name: "a blocking send cut short by a reset", partial: []int{2}, steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s1", e.Resetter),
			// Far more than the kernel's buffers hold: the send is
			// waiting when the peer resets, and returns what it queued.
			op("send", "s1", Args{Data: &Data{Text: strp("x"), Repeat: ip(16 << 20)}}),
			// The reset is the next call's error, as the kernel kept it.
			pySend("send", "s1", "x"),
			pySend("send", "s1", "x"),
		}
	}},
	{name: "listen backlog out of a C int", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyListen("s1", 1<<31),
			pyListen("s1", -1<<31-1),
			pyListen("s1", 1<<31-1),
		}
	}},
	{name: "timeouts at their bounds", steps: func(e *pyEnv) []Op {
		sel := func(sec float64) Op { return op("select", "", Args{Timeout: seconds(sec)}) }
		return []Op{
			pySocket("inet", "stream"),
			pyTimeout("s1", 2e9),
			pyBare("gettimeout", "s1"),
			pyTimeout("s1", 9.3e9),
			pyTimeout("s1", -1),
			sel(9.3e9),
			sel(-1),
			sel(0),
		}
	}},
	{name: "settimeout on a closed socket", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyBare("close", "s1"),
			pyTimeout("s1", 1),
			pyBare("gettimeout", "s1"),
			pyBlocking("s1", false),
			pyBare("gettimeout", "s1"),
		}
	}},
	{name: "select", steps: func(e *pyEnv) []Op {
		sel := func(r, w, x []string, timeout *float64) Op {
			a := Args{More: &More{RList: r, WList: w, XList: x}}
			if timeout != nil {
				a.Timeout = seconds(*timeout)
			}
			return op("select", "", a)
		}
		short, long := 0.2, 5.0
		return []Op{
			pySocket("inet", "stream"),
			pyAddrOp("bind", "s1", e.TCP[0]),
			pyListen("s1", 5),
			// Nothing queued: the timeout passes, nothing is ready.
			sel([]string{"s1"}, nil, []string{"s1"}, &short),
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s2", e.TCP[0]),
			// A connection queued makes the listener readable; a fresh
			// connection is writable, not readable.
			sel([]string{"s1", "s2"}, []string{"s2"}, nil, &long),
			pyBare("accept", "s1"),
			pySend("sendall", "s3", "ping"),
			sel([]string{"s2", "s1"}, nil, nil, nil),
			pyRecv("s2", 64),
			// EOF is readable.
			pyBare("close", "s3"),
			sel([]string{"s2", "s2"}, nil, nil, &long),
			pyRecv("s2", 64),
			sel(nil, nil, nil, &short),
		}
	}},
	{name: "non-blocking recv", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s1", e.Silent),
			pyBlocking("s1", false),
			pyRecv("s1", 4),
			pyTimeout("s1", 0),
			pyRecv("s1", 4),
		}
	}},
	{name: "non-blocking connect", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyBlocking("s1", false),
			pyAddrOp("connect", "s1", e.Silent),
		}
	}},
	{name: "errors", steps: func(e *pyEnv) []Op {
		return []Op{
			// s1: a TCP socket that is connected to nothing.
			pySocket("inet", "stream"),
			pyRecv("s1", 4),
			pySend("send", "s1", "x"),
			pySend("send", "s1", ""),
			pySend("sendall", "s1", "x"),
			pyRecv("s1", 0),
			pyRecv("s1", -1),
			pyTimeout("s1", -1),
			pyBare("accept", "s1"),
			pyBare("getpeername", "s1"),
			pyBare("getsockname", "s1"),
			pyShutdown("s1", unix.SHUT_RDWR),
			pyAddrOp("connect", "s1", "[::1]:80"),
			// s2: UDP cannot listen.
			pySocket("inet", "dgram"),
			pyListen("s2", 1),
			// s3: binds that fail.
			pySocket("inet", "stream"),
			pyAddrOp("bind", "s3", e.Echo),
			pyAddrOp("bind", "s3", "10.255.255.1:0"),
			// s4: calls on a closed socket.
			pySocket("inet", "stream"),
			pyBare("close", "s4"),
			pyBare("close", "s4"),
			pyRecv("s4", 4),
			pySend("send", "s4", "x"),
			pyBare("getsockname", "s4"),
			pyTimeout("s4", 1),
			pyBlocking("s4", false),
			pyGetopt("s4", "SOL_SOCKET", "SO_TYPE"),
			pyAddrOp("connect", "s4", e.Echo),
			// s5: sendto on a connected TCP socket.
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s5", e.Echo),
			pySendto("s5", "x", e.Echo),
			// s6: connect again, in timeout mode: Linux leaves a socket
			// connected without blocking "connecting", so the first
			// repeat succeeds and the next is EISCONN.
			pySocket("inet", "stream"),
			pyTimeout("s6", 2),
			pyAddrOp("connect", "s6", e.Echo),
			pyAddrOp("connect", "s6", e.Echo),
			pyAddrOp("connect", "s6", e.Echo),
			// s7: connect again in blocking mode is EISCONN at once.
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s7", e.Echo),
			pyAddrOp("connect", "s7", e.Echo),
		}
	}},
	{name: "udp recv(0)", steps: func(e *pyEnv) []Op {
		// recv(0) is b'' at once on any socket: it neither waits for a
		// datagram nor takes one.
		return []Op{
			pySocket("inet", "dgram"),
			pyAddrOp("bind", "s1", e.UDP[0]),
			pySocket("inet", "dgram"),
			pyAddrOp("bind", "s2", e.UDP[1]),
			pyTimeout("s1", 0.2),
			pyRecv("s1", 0),
			pySendto("s2", "next", e.UDP[0]),
			pyTimeout("s1", 2),
			pyRecv("s1", 0),
			pyRecv("s1", 64),
		}
	}},
	{name: "tcp server", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pySetopt("s1", "SOL_SOCKET", "SO_REUSEADDR", "1"),
			pyAddrOp("bind", "s1", e.TCP[0]),
			pyListen("s1", 1),
			pyBare("getsockname", "s1"),
			pyRecv("s1", 0),
			pySocket("inet", "stream"),
			pyAddrOp("connect", "s2", e.TCP[0]),
			pyBare("getpeername", "s2"),
			pyBare("accept", "s1"),
			pyBare("getsockname", "s3"),
			pySend("send", "s3", "hi there"),
			pyTimeout("s2", 2),
			pyRecv("s2", 64),
			pySend("sendall", "s2", "pong"),
			pyTimeout("s3", 2),
			pyRecv("s3", 64),
			pyBare("close", "s3"),
			pyRecv("s2", 64),
			pyTimeout("s1", 0.2),
			pyBare("accept", "s1"),
			pyBlocking("s1", false),
			pyBare("accept", "s1"),
			pyAddrOp("bind", "s1", e.TCP[0]),
			pyAddrOp("connect", "s1", e.Echo),
			pySocket("inet", "stream"),
			pyAddrOp("bind", "s4", e.TCP[0]),
			pyListen("s4", -5),
		}
	}},
	{name: "udp", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "dgram"),
			pyAddrOp("bind", "s1", e.UDP[0]),
			pySocket("inet", "dgram"),
			pyAddrOp("bind", "s2", e.UDP[1]),
			pyTimeout("s1", 2),
			pySendto("s2", "0123456789", e.UDP[0]),
			pyRecvfrom("s1", 4),
			pySendto("s2", "abc", e.UDP[0]),
			pySendto("s2", "def", e.UDP[0]),
			pyRecvfrom("s1", 64),
			pyRecvfrom("s1", 64),
			pySendto("s2", "whole datagram", e.UDP[0]),
			pyRecv("s1", 64),
			pySend("send", "s1", "nowhere"),
			pySendto("s1", "port zero", "127.0.0.1:0"),
			pyShutdown("s1", unix.SHUT_RDWR),
			pySendto("s2", "", e.UDP[0]),
			pyRecvfrom("s1", 64),
			pyTimeout("s1", 0.2),
			pyRecvfrom("s1", 64),
			pySendto("s2", "keep", e.UDP[0]),
			pySendto("s2", "next", e.UDP[0]),
			pyTimeout("s1", 2),
			pyRecvfrom("s1", 0),
			pyRecv("s1", 64),
			pyRecv("s2", -1),
			// A connected UDP socket hears of the dead port through ICMP.
			pySocket("inet", "dgram"),
			pyTimeout("s3", 2),
			pyAddrOp("connect", "s3", e.UDPDead),
			pyBare("getpeername", "s3"),
			pySend("send", "s3", "anyone?"),
			pyRecv("s3", 16),
			pyTimeout("s3", 0.2),
			pyRecv("s3", 16),
		}
	}},
	{name: "udp v6", needV6: true, steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet6", "dgram"),
			pyAddrOp("bind", "s1", e.V6UDP[0]),
			pySocket("inet6", "dgram"),
			pyAddrOp("bind", "s2", e.V6UDP[1]),
			pyBare("getsockname", "s2"),
			pyTimeout("s1", 2),
			pySendto("s2", "over six", e.V6UDP[0]),
			pyRecvfrom("s1", 64),
			pyGetopt("s1", "IPPROTO_IPV6", "IPV6_V6ONLY"),
			pyAddrOp("bind", "s2", "127.0.0.1:0"),
		}
	}},
	{name: "unix stream", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("unix", "stream"),
			pyAddrOp("bind", "s1", "demo.sock"),
			pyListen("s1", 1),
			pyBare("getsockname", "s1"),
			pySocket("unix", "stream"),
			pyBare("getsockname", "s2"), // unnamed: ''
			pyAddrOp("connect", "s2", "demo.sock"),
			pyBare("getpeername", "s2"),
			pyBare("accept", "s1"),
			pyBare("getsockname", "s3"),
			pyBare("getpeername", "s3"), // the client is unnamed, so ''
			pySend("sendall", "s2", "over unix"),
			pyRecv("s3", 4),
			pyRecv("s3", 64),
			pyBare("close", "s3"),
			pyRecv("s2", 64),
			pySocket("unix", "stream"),
			pyAddrOp("connect", "s4", "nope.sock"),
			pyAddrOp("bind", "s4", "demo.sock"),
		}
	}},
	{name: "unix dgram", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("unix", "dgram"),
			pyAddrOp("bind", "s1", "a.sock"),
			pySocket("unix", "dgram"),
			pyAddrOp("bind", "s2", "b.sock"),
			pySendto("s2", "ping", "a.sock"),
			pyRecvfrom("s1", 64),
			pySendto("s2", "truncate me", "a.sock"),
			pyRecvfrom("s1", 2),
			pySocket("unix", "dgram"),
			pySendto("s3", "anon", "a.sock"),
			pyRecvfrom("s1", 64),
			pyTimeout("s1", 0.2),
			pyRecvfrom("s1", 64),
			pySendto("s3", "nobody", "c.sock"),
			pySocket("unix", "stream"),
			pyAddrOp("connect", "s4", "a.sock"),
		}
	}},
	{name: "options", steps: func(e *pyEnv) []Op {
		return []Op{
			pySocket("inet", "stream"),
			pyGetopt("s1", "SOL_SOCKET", "SO_REUSEADDR"),
			pySetopt("s1", "SOL_SOCKET", "SO_REUSEADDR", "1"),
			pyGetopt("s1", "SOL_SOCKET", "SO_REUSEADDR"),
			pyGetopt("s1", "IPPROTO_TCP", "TCP_NODELAY"),
			pySetopt("s1", "IPPROTO_TCP", "TCP_NODELAY", "1"),
			pyGetopt("s1", "IPPROTO_TCP", "TCP_NODELAY"),
			pySetopt("s1", "SOL_SOCKET", "SO_SNDBUF", "4096"),
			pyGetopt("s1", "SOL_SOCKET", "SO_SNDBUF"),
			pySetopt("s1", "SOL_SOCKET", "SO_RCVBUF", "4096"),
			pyGetopt("s1", "SOL_SOCKET", "SO_RCVBUF"),
			pySetopt("s1", "SOL_SOCKET", "SO_KEEPALIVE", "true"),
			pyGetopt("s1", "SOL_SOCKET", "SO_KEEPALIVE"),
			pyGetopt("s1", "IPPROTO_IP", "IP_TTL"),
			pySetopt("s1", "IPPROTO_IP", "IP_TTL", "5"),
			pyGetopt("s1", "IPPROTO_IP", "IP_TTL"),
			pyGetopt("s1", "SOL_SOCKET", "SO_TYPE"),
			pyGetopt("s1", "SOL_SOCKET", "SO_ERROR"),
			pyGetopt("s1", "SOL_SOCKET", "SO_ACCEPTCONN"),
			pySetopt("s1", "SOL_SOCKET", "SO_TYPE", "1"),
			pySetopt("s1", "SOL_SOCKET", "SO_SNDBUF", "1.5"),
			pySetopt("s1", "SOL_SOCKET", "SO_SNDBUF", `"x"`),
			pySetopt("s1", "SOL_SOCKET", "SO_SNDBUF", "2147483648"),
			pyGetopt("s1", "IPPROTO_IP", "IP_TOS"),
			pyGetopt("s1", "IPPROTO_TCP", "TCP_MAXSEG"),
			pyGetopt("s1", "IPPROTO_TCP", "TCP_KEEPIDLE"),
			pyGetopt("s1", "SOL_SOCKET", "SO_RCVLOWAT"),
			pySocket("inet", "dgram"),
			pyGetopt("s2", "SOL_SOCKET", "SO_TYPE"),
			pyGetopt("s2", "IPPROTO_TCP", "TCP_NODELAY"),
			pySetopt("s2", "SOL_SOCKET", "SO_BROADCAST", "1"),
			pyGetopt("s2", "SOL_SOCKET", "SO_BROADCAST"),
		}
	}},
}

// pyEnv is one run's servers. Every address is on loopback; sym names
// them, so that outcomes of two runs can be compared although their ports
// differ.
type pyEnv struct {
	Echo   string // TCP: echoes, and closes once the client half-closes
	Silent string // TCP: accepts and never says a word
	// Resetter: TCP: reads 64 KiB of each connection, then resets it.
	Resetter string
	Refused  string    // TCP: nothing listens
	UDPDead  string    // UDP: nothing listens
	TCP      [1]string // TCP: free, for a scenario's own listener
	UDP      [2]string // UDP: free
	V6UDP    [2]string // UDP on ::1: free, or "" without IPv6
	sym      map[string]string
}

// newPyEnvs starts n sets of servers. The free ports of all of them are
// held until all are chosen, so that no two are the same port, and runs
// can go at the same time.
func newPyEnvs(t *testing.T, n int) []*pyEnv {
	t.Helper()
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	free := func(network, host string) string {
		t.Helper()
		c, a := pyHoldPort(t, network, host)
		held = append(held, c)
		return a
	}
	v6 := false
	if c, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		c.Close()
		v6 = true
	}
	envs := make([]*pyEnv, n)
	for k := range envs {
		e := &pyEnv{
			Echo:     testkit.EchoServer(t),
			Silent:   testkit.SilentServer(t),
			Resetter: testkit.ResetServer(t, 64<<10),
			Refused:  free("tcp", "127.0.0.1"),
			UDPDead:  free("udp", "127.0.0.1"),
		}
		e.sym = map[string]string{e.Echo: "echo", e.Silent: "silent", e.Resetter: "resetter", e.Refused: "refused", e.UDPDead: "udp-dead"}
		for i := range e.TCP {
			e.TCP[i] = free("tcp", "127.0.0.1")
			e.sym[e.TCP[i]] = fmt.Sprintf("tcp%d", i)
		}
		for i := range e.UDP {
			e.UDP[i] = free("udp", "127.0.0.1")
			e.sym[e.UDP[i]] = fmt.Sprintf("udp%d", i)
		}
		for i := range e.V6UDP {
			if v6 {
				e.V6UDP[i] = free("udp", "::1")
				e.sym[e.V6UDP[i]] = fmt.Sprintf("v6udp%d", i)
			}
		}
		envs[k] = e
	}
	return envs
}

// pyHoldPort binds a loopback port chosen by the kernel and returns it
// still bound. Once closed it stays free in practice: bind(":0") picks
// ports apart from those connect() picks.
func pyHoldPort(t *testing.T, network, host string) (io.Closer, string) {
	t.Helper()
	if network == "tcp" {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Fatal(err)
		}
		return ln, ln.Addr().String()
	}
	c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	return c, c.LocalAddr().String()
}

// pyOutcome is one step's outcome, in the form the Python side prints.
type pyOutcome struct {
	OK    bool            `json:"ok"`
	Exc   string          `json:"exc,omitempty"`
	Errno string          `json:"errno,omitempty"`
	Num   int             `json:"num,omitempty"`
	Msg   string          `json:"msg,omitempty"`
	B64   []byte          `json:"b64,omitempty"`
	N     *int            `json:"n,omitempty"`
	Addr  *string         `json:"addr,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
	Sock  string          `json:"sock,omitempty"`
}

func (o pyOutcome) String() string {
	if !o.OK {
		return fmt.Sprintf("%s errno=%q num=%d (%s)", o.Exc, o.Errno, o.Num, o.Msg)
	}
	var parts []string
	if o.B64 != nil {
		parts = append(parts, fmt.Sprintf("bytes %q", o.B64))
	}
	if o.N != nil {
		parts = append(parts, fmt.Sprintf("n=%d", *o.N))
	}
	if o.Addr != nil {
		parts = append(parts, fmt.Sprintf("addr %q", *o.Addr))
	}
	if o.Value != nil {
		parts = append(parts, "value "+string(o.Value))
	}
	if o.Sock != "" {
		parts = append(parts, "sock "+o.Sock)
	}
	return "ok " + strings.Join(parts, " ")
}

// runEngineSteps runs steps through a new session and records what each
// gave, in the terms Python would give it.
func runEngineSteps(t *testing.T, steps []Op) []pyOutcome {
	t.Helper()
	s := newTestSession(t)
	out := make([]pyOutcome, len(steps))
	for i, st := range steps {
		ev := do(t, s, st)
		o := pyOutcome{OK: ev.OK}
		if ev.Error != nil {
			o.Exc, o.Errno, o.Num, o.Msg = ev.Error.Exc, ev.Error.Errno, ev.Error.Num, ev.Error.Msg
		}
		if r := ev.Result; ev.OK && r != nil {
			switch st.Op {
			case "recv", "recvfrom":
				o.B64 = append([]byte{}, r.Data...)
				if st.Op == "recvfrom" {
					o.Addr = &r.Addr
				}
			case "send", "sendto":
				o.N = r.N
			case "getsockopt":
				b, err := json.Marshal(r.Value)
				if err != nil {
					t.Fatal(err)
				}
				o.Value = b
			case "select":
				b, err := json.Marshal([3][]string{orEmpty(r.RList), orEmpty(r.WList), orEmpty(r.XList)})
				if err != nil {
					t.Fatal(err)
				}
				o.Value = b
			case "gettimeout":
				b, err := json.Marshal(r.Timeout)
				if err != nil {
					t.Fatal(err)
				}
				o.Value = b
			case "getsockname":
				o.Addr = &r.Local
			case "getpeername":
				o.Addr = &r.Peer
			case "socket", "accept":
				o.Sock = r.Sock
			}
		}
		out[i] = o
	}
	return out
}

// startPython starts script in a directory of its own, so that relative
// AF_UNIX names resolve there. wait reads one outcome per step; if the
// test ends without waiting, the process is killed and reaped.
func startPython(t *testing.T, py, script string) (wait func(steps int) []pyOutcome) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	var err error
	reap := func() {
		once.Do(func() {
			err = cmd.Wait()
			cancel()
		})
	}
	t.Cleanup(func() { cancel(); reap() })
	return func(steps int) []pyOutcome {
		t.Helper()
		reap()
		return pyOutcomes(t, &stdout, &stderr, err, steps, script)
	}
}

func pyOutcomes(t *testing.T, stdout, stderr *bytes.Buffer, err error, steps int, script string) []pyOutcome {
	t.Helper()
	var out []pyOutcome
	dec := json.NewDecoder(stdout)
	for {
		var o pyOutcome
		if derr := dec.Decode(&o); errors.Is(derr, io.EOF) {
			break
		} else if derr != nil {
			t.Fatalf("python output line %d: %v\nstderr:\n%s", len(out), derr, stderr.String())
		}
		out = append(out, o)
	}
	if err != nil || len(out) != steps {
		t.Fatalf("python gave %d outcomes for %d steps (%v)\nstderr:\n%s\nscript:\n%s", len(out), steps, err, stderr.String(), script)
	}
	return out
}

// pyCompare says how the engine's outcome differs from Python's, or "".
// Where the engine shows more than Python (a truncated datagram's size,
// sendall's count, a bind's address), only what Python returns counts.
func pyCompare(opName string, eng pyOutcome, engEnv *pyEnv, py pyOutcome, pyEnv *pyEnv) string {
	if eng.OK != py.OK || eng.Exc != py.Exc || eng.Errno != py.Errno || eng.Num != py.Num {
		return "outcome differs"
	}
	if !eng.OK {
		return ""
	}
	switch opName {
	case "recv", "recvfrom":
		if !bytes.Equal(eng.B64, py.B64) {
			return "bytes differ"
		}
	case "send", "sendto":
		if eng.N == nil || py.N == nil || *eng.N != *py.N {
			return "count differs"
		}
	case "getsockopt":
		if string(eng.Value) != string(py.Value) {
			return "value differs"
		}
	case "select": // the lists, however each side spaces them
		var e, p [][]string
		if json.Unmarshal(eng.Value, &e) != nil || json.Unmarshal(py.Value, &p) != nil || !reflect.DeepEqual(e, p) {
			return "ready lists differ"
		}
	case "gettimeout": // None or seconds, whichever way each writes them
		var e, p *float64
		if json.Unmarshal(eng.Value, &e) != nil || json.Unmarshal(py.Value, &p) != nil || (e == nil) != (p == nil) || (e != nil && *e != *p) {
			return "timeout differs"
		}
	case "socket", "accept":
		if eng.Sock != py.Sock {
			return "socket id differs"
		}
	}
	if (eng.Addr == nil) != (py.Addr == nil) {
		return "address missing"
	}
	if eng.Addr != nil && engEnv.norm(*eng.Addr) != pyEnv.norm(*py.Addr) {
		return fmt.Sprintf("address differs: %s vs %s", engEnv.norm(*eng.Addr), pyEnv.norm(*py.Addr))
	}
	return ""
}

// norm names an address of this run's servers, and hides a port the
// kernel picked, which no two runs share.
func (e *pyEnv) norm(a string) string {
	if s, ok := e.sym[a]; ok {
		return "<" + s + ">"
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || net.ParseIP(host) == nil || port == "0" {
		return a
	}
	return net.JoinHostPort(host, "<ephemeral>")
}

const pyPrelude = `import base64, errno, json, select, socket

def _addr(a):
    if a is None:
        return ""
    if isinstance(a, tuple):
        return ("[%s]:%d" if ":" in a[0] else "%s:%d") % (a[0], a[1])
    if isinstance(a, bytes):
        return a.decode("latin-1")
    return a

def _ok(**kw):
    kw["ok"] = True
    print(json.dumps(kw), flush=True)

_n = 0

_names = {}

def _new(c):
    global _n
    _n += 1
    globals()["s%d" % _n] = c
    _names[id(c)] = "s%d" % _n
    _ok(sock="s%d" % _n)

def _ready(r):
    return [[_names[id(x)] for x in l] for l in r]

def _b(b):
    return base64.b64encode(b).decode()

def _err(e):
    n = getattr(e, "errno", None)
    name = ""
    if isinstance(e, socket.gaierror):
        name = next((k for k in dir(socket) if k.startswith("EAI_") and getattr(socket, k) == n), "")
    elif isinstance(n, int):
        name = errno.errorcode.get(n, str(n))
    print(json.dumps({"ok": False, "exc": type(e).__name__, "errno": name,
                      "num": n if isinstance(n, int) else 0, "msg": str(e)}), flush=True)
`

// pyScript turns steps into a Python program that prints one JSON outcome
// per step, and returns each step's statement for reports.
func pyScript(steps []Op) (string, []string, error) {
	var b strings.Builder
	b.WriteString(pyPrelude)
	stmts := make([]string, len(steps))
	next := 0
	for i, st := range steps {
		stmt, report, err := pyStatement(st, &next)
		if err != nil {
			return "", nil, fmt.Errorf("step %d (%s): %v", i, st.Op, err)
		}
		stmts[i] = stmt
		fmt.Fprintf(&b, "\n# step %d\ntry:\n    %s\n    %s\nexcept Exception as e:\n    _err(e)\n", i, stmt, report)
	}
	return b.String(), stmts, nil
}

// pyStatement is one op as a Python statement, and the call that reports
// its result. Sockets are variables named as the engine names them: s1,
// s2, ... in the order socket() and accept() succeed, so the name is given
// at run time (_new); next only guesses it for the report.
func pyStatement(st Op, next *int) (stmt, report string, err error) {
	a, s := st.Args, st.Sock
	addr := func() (string, error) { return pyAddrLiteral(a.Addr) }
	switch st.Op {
	case "socket":
		*next++
		fam := map[string]string{"": "AF_INET", "inet": "AF_INET", "inet6": "AF_INET6", "unix": "AF_UNIX"}[a.Family]
		typ := map[string]string{"": "SOCK_STREAM", "stream": "SOCK_STREAM", "dgram": "SOCK_DGRAM"}[a.Type]
		if fam == "" || typ == "" {
			return "", "", fmt.Errorf("family %q type %q", a.Family, a.Type)
		}
		return fmt.Sprintf("_c = socket.socket(socket.%s, socket.%s)  # s%d", fam, typ, *next), "_new(_c)", nil
	case "accept":
		*next++
		return fmt.Sprintf("_c, _ = %s.accept()  # s%d", s, *next), "_new(_c)", nil
	case "connect", "bind":
		lit, err := addr()
		return fmt.Sprintf("%s.%s(%s)", s, st.Op, lit), "_ok()", err
	case "listen":
		if a.Backlog == nil {
			return s + ".listen()", "_ok()", nil
		}
		return fmt.Sprintf("%s.listen(%d)", s, *a.Backlog), "_ok()", nil
	case "send", "sendall", "sendto":
		unit := *a.Data
		unit.Repeat = nil
		data, err := unit.Bytes()
		if err != nil {
			return "", "", err
		}
		lit := pyBytes(data)
		if a.Data.Repeat != nil {
			lit += fmt.Sprintf(" * %d", *a.Data.Repeat)
		}
		call := fmt.Sprintf("%s.%s(%s", s, st.Op, lit)
		if st.Op == "sendto" {
			lit, err := addr()
			if err != nil {
				return "", "", err
			}
			call += ", " + lit
		}
		call += ")"
		if st.Op == "sendall" {
			return call, "_ok()", nil
		}
		return "_r = " + call, "_ok(n=_r)", nil
	case "recv":
		return fmt.Sprintf("_r = %s.recv(%d)", s, *a.Bufsize), "_ok(b64=_b(_r))", nil
	case "recvfrom":
		return fmt.Sprintf("_r, _a = %s.recvfrom(%d)", s, *a.Bufsize), "_ok(b64=_b(_r), addr=_addr(_a))", nil
	case "settimeout":
		return fmt.Sprintf("%s.settimeout(%s)", s, a.Timeout), "_ok()", nil
	case "setblocking":
		return fmt.Sprintf("%s.setblocking(%s)", s, pyBool(*a.Flag)), "_ok()", nil
	case "setsockopt":
		v := string(a.Value)
		switch v {
		case "true", "false":
			v = pyBool(v == "true")
		}
		return fmt.Sprintf("%s.setsockopt(socket.%s, socket.%s, %s)", s, a.Level, a.Name, v), "_ok()", nil
	case "getsockopt":
		return fmt.Sprintf("_r = %s.getsockopt(socket.%s, socket.%s)", s, a.Level, a.Name), "_ok(value=_r)", nil
	case "shutdown":
		return fmt.Sprintf("%s.shutdown(socket.%s)", s, howNames[*a.How]), "_ok()", nil
	case "close":
		return s + ".close()", "_ok()", nil
	case "gettimeout":
		return fmt.Sprintf("_r = %s.gettimeout()", s), "_ok(value=_r)", nil
	case "select":
		timeout := ""
		if a.Timeout.Set {
			timeout = ", " + a.Timeout.String()
		}
		list := func(l []string) string { return "[" + strings.Join(l, ", ") + "]" }
		return fmt.Sprintf("_r = select.select(%s, %s, %s%s)", list(a.more().RList), list(a.more().WList), list(a.more().XList), timeout), "_ok(value=_ready(_r))", nil
	case "getsockname", "getpeername":
		return fmt.Sprintf("_a = %s.%s()", s, st.Op), "_ok(addr=_addr(_a))", nil
	}
	return "", "", fmt.Errorf("no Python for op %q", st.Op)
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// pyAddrLiteral writes addr as Python's address: a (host, port) tuple for
// host:port, else a str, the AF_UNIX path.
func pyAddrLiteral(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return pyBytes([]byte(addr))[1:], nil
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("(%s, %d)", pyBytes([]byte(host))[1:], p), nil
}

// pyBytes is a Python bytes literal.
func pyBytes(b []byte) string {
	var sb strings.Builder
	sb.WriteString("b'")
	for _, c := range b {
		switch {
		case c == '\\' || c == '\'':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, "\\x%02x", c)
		}
	}
	sb.WriteByte('\'')
	return sb.String()
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
