package sockets

import "fmt"

// Focus is where a session's owner is looking: the socket in use, the
// view of it, the lesson and its step, the line of code. It is part of
// the session's state, so that a class following the teacher through a
// watch link looks where the teacher looks.
type Focus struct {
	Sock   string `json:"sock,omitempty"`
	View   string `json:"view,omitempty"`
	Lesson string `json:"lesson,omitempty"`
	Step   int    `json:"step,omitempty"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
}

func checkFocus(c *call) error {
	f := c.op.Args.more().Focus
	if f == nil {
		return errType("focus() missing required argument 'focus' (an object: sock, view, lesson, step, file, line)")
	}
	for _, v := range []string{f.Sock, f.View, f.Lesson, f.File} {
		if len(v) > maxOriginText {
			return errValue("focus: its names are of at most %d bytes", maxOriginText)
		}
	}
	if f.Step < 0 || f.Line < 0 {
		return errValue("focus: step and line are not negative")
	}
	return nil
}

// focusOp records where the owner looks; the state carries it to
// watchers.
func focusOp(c *call) (*Result, error) {
	f := *c.op.Args.more().Focus
	c.s.mu.Lock()
	c.s.focus = &f
	c.s.mu.Unlock()
	return &Result{}, nil
}

// String is the focus as the log reads it.
func (f Focus) String() string {
	s := f.Sock
	add := func(part string) {
		if s != "" {
			s += ", "
		}
		s += part
	}
	if f.View != "" {
		add(f.View)
	}
	if f.Lesson != "" {
		add(fmt.Sprintf("lesson %s step %d", f.Lesson, f.Step))
	}
	if f.File != "" {
		add(fmt.Sprintf("%s line %d", f.File, f.Line))
	}
	return s
}
