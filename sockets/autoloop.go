package sockets

import (
	"errors"
	"os"
	"time"
)

// autoLoop is what autorecv's and autoaccept's loops share: how one is
// started in its socket's read lane, waits for the socket, and is stopped.
// Its flags are guarded by the socket's autoMu; done is closed once it has
// ended, or once it was stopped before it ever started.
type autoLoop struct {
	kind     string // "autorecv" or "autoaccept"
	bufsize  int    // autorecv's
	started  bool
	stop     bool
	finished bool
	stopCh   chan struct{} // closed with stop, for a loop waiting for room
	done     chan struct{}
}

// op is the op that turned the loop on.
func (l *autoLoop) op() string { return l.kind }

// requestStop sets stop; autoMu must be held.
func (l *autoLoop) requestStop() {
	if !l.stop {
		l.stop = true
		close(l.stopCh)
	}
}

func (l *autoLoop) finish() {
	if !l.finished {
		l.finished = true
		close(l.done)
	}
}

// startAuto turns the socket's auto loop off and, if on, starts a new one
// of kind that runs run once its turn in the read lane comes.
func (c *call) startAuto(kind string, bufsize int, run func(k *Socket, loop *autoLoop)) (*Result, error) {
	k, a := c.sock, c.op.Args
	k.stopAuto()
	if a.On != nil && !*a.On {
		f := false
		return &Result{On: &f}, nil
	}
	loop := &autoLoop{kind: kind, bufsize: bufsize, done: make(chan struct{}), stopCh: make(chan struct{})}
	// Marking the socket and taking the place in the read lane happen
	// under one lock, so a recv can never slip in behind the loop.
	waits, done, _ := k.enqueue(true, false, func() error { k.auto = loop; return nil })
	started := c.s.goRun(func() {
		defer close(done)
		for _, w := range waits {
			<-w
		}
		defer c.s.endAuto(k, loop)
		run(k, loop)
	})
	if !started {
		close(done)
		k.autoMu.Lock()
		loop.finish()
		k.autoMu.Unlock()
		return nil, errSessionEnded()
	}
	t := true
	return &Result{On: &t, Bufsize: bufsize}, nil
}

// endAuto marks a loop ended and tells viewers (which also wakes them for
// the events it held back).
func (s *Session) endAuto(k *Socket, loop *autoLoop) {
	k.autoMu.Lock()
	loop.finish()
	k.autoMu.Unlock()
	k.mu.Lock()
	if k.auto == loop {
		k.auto = nil
	}
	k.mu.Unlock()
	s.touch()
}

// stopAuto stops the socket's auto loop, if any, and waits until it has
// ended. A loop still waiting for its turn in the read lane is told to
// stop and let go at once: expiring the read deadline then would hit the
// call that holds the lane instead.
func (k *Socket) stopAuto() {
	k.mu.Lock()
	loop := k.auto
	k.mu.Unlock()
	if loop == nil {
		return
	}
	k.autoMu.Lock()
	loop.requestStop()
	switch {
	case !loop.started:
		loop.finish()
	case !k.closed.Load():
		_ = k.f.SetReadDeadline(time.Unix(1, 0))
	}
	k.autoMu.Unlock()
	<-loop.done
	k.mu.Lock()
	if k.auto == loop {
		k.auto = nil
	}
	k.mu.Unlock()
}

// begin is a loop's check before it waits for its socket: it reports
// false once the loop is stopped or the socket closed. It clears the read
// deadline under autoMu, so that a stopper's expired deadline always comes
// after it and can never be lost.
func (l *autoLoop) begin(k *Socket) bool {
	k.autoMu.Lock()
	defer k.autoMu.Unlock()
	if l.stop || k.closed.Load() {
		return false
	}
	l.started = true
	return k.f.SetReadDeadline(time.Time{}) == nil
}

// ready waits until the socket is ready and try has made the loop's call
// (a recv or an accept), whose own error try leaves in *serr. It reports
// that error; quit, when the loop was stopped or its socket closed while
// it waited (the stop or the close is the event then: a call that never
// happened has none); and again, when what woke it was a stopper's
// deadline that outlived its stop, so the loop should look again.
func (l *autoLoop) ready(k *Socket, try func(fd uintptr) bool, serr *error) (err error, quit, again bool) {
	err = k.rc.Read(try)
	if err == nil {
		err = *serr
	}
	switch {
	case err != nil && l.stopped(k):
		return nil, true, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, false, true
	}
	return err, false, false
}

// stopped reports whether the loop was stopped or its socket closed.
func (l *autoLoop) stopped(k *Socket) bool {
	k.autoMu.Lock()
	defer k.autoMu.Unlock()
	return l.stop || k.closed.Load()
}

// waitForRoom holds a loop while its readers are far behind: the data
// stays in the kernel (and TCP's flow control slows the sender), as it
// would for a Python program that is slow to call recv. next is the most
// the loop's next event can weigh in the log. It reports false if the
// loop was stopped or the socket closed meanwhile.
func (s *Session) waitForRoom(k *Socket, loop *autoLoop, next int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.roomLocked(k, loop, next)
}

// roomLocked waits, s.mu held (and let go while it waits), until readers
// are near enough for an event of weight next, showing the socket as
// paused meanwhile. It reports false if the loop was stopped or the
// socket closed first.
func (s *Session) roomLocked(k *Socket, loop *autoLoop, next int64) bool {
	paused := false
	setPaused := func(on bool) {
		paused = on
		k.mu.Lock()
		k.autoPaused = on
		k.mu.Unlock()
		s.notifyLocked(true)
	}
	defer func() {
		if paused {
			setPaused(false)
		}
	}()
	for s.log.Behind(paused, next) {
		if !paused {
			setPaused(true)
		}
		room := s.log.Room()
		s.mu.Unlock()
		select {
		case <-room:
		case <-loop.stopCh:
			s.mu.Lock()
			return false
		case <-k.closedCh:
			s.mu.Lock()
			return false
		}
		s.mu.Lock()
	}
	return true
}
