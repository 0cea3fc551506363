package sockets

import "time"

// Meter is told what the engine does, for an operator's metrics (the
// metrics package has the one sockplay uses). Its methods are called on
// the engine's hot paths, some with a session's lock held (Event, for
// every event of a fast stream): they must be quick, must not block or
// call back into the engine, and must not allocate.
type Meter interface {
	// Op is one call's end: its op (its index in OpNames), whether it
	// succeeded, and how long it took from its submission to its event,
	// time pending included.
	Op(op int, ok bool, took time.Duration)
	// Event is one event put in a session's log, with the bytes of
	// socket data it carries: received (a recv's) and sent (a send's).
	Event(received, sent int)
	// Refused is something refused by the limit or egress rule named as
	// its flag is ("max-fds", "egress", "deny-ports", ...).
	Refused(limit string)
	// SessionStarted and SessionEnded are a session's start and end.
	SessionStarted()
	SessionEnded(cause EndCause)
}

// EndCause is why a session ended, in a word an operator can count by.
// The reason its pages are told says more.
type EndCause string

const (
	// EndOwner: its owner ended it (DELETE /api/sessions/{id}).
	EndOwner EndCause = "owner"
	// EndIdle: unused for Config.IdleTimeout.
	EndIdle EndCause = "idle"
	// EndDrain: its node was drained, and the session outlived the drain.
	EndDrain EndCause = "drain"
	// EndShutdown: the manager closed.
	EndShutdown EndCause = "shutdown"
)

// EndCauses are every EndCause, for a meter to know them all in advance.
var EndCauses = []EndCause{EndOwner, EndIdle, EndDrain, EndShutdown}

// noMeter is the Meter of an engine that nobody meters.
type noMeter struct{}

func (noMeter) Op(int, bool, time.Duration) {}
func (noMeter) Event(int, int)              {}
func (noMeter) Refused(string)              {}
func (noMeter) SessionStarted()             {}
func (noMeter) SessionEnded(EndCause)       {}

// Now is the session's clock, the one events' T is read on:
// microseconds since it started (for how late a reader gets them).
func (s *Session) Now() int64 { return s.now() }

// refused tells the meter of a refusal by limit.
func (s *Session) refused(limit string) { s.cfg.Meter.Refused(limit) }

// carried is the socket data ev carries, as Meter.Event counts it: a
// recv's bytes (autorecv's and recvall's parts are recvs too; recvall's
// own event repeats its parts' bytes and is not counted), and what a
// send handed the kernel (sendchunks' pieces are sends; its own event is
// their total). A sendall that failed part-way says how much it sent.
func carried(ev *Event) (received, sent int) {
	r := ev.Result
	if r == nil {
		return 0, 0
	}
	switch ev.Op {
	case "recv", "recvfrom":
		return len(r.Data), 0
	case "send", "sendto", "sendall":
		if r.N != nil {
			return 0, *r.N
		}
	}
	return 0, 0
}
