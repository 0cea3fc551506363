package labs

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
)

const (
	// chatQueue is how many lines may wait for one chat member. A member
	// whose queue is full is dropped rather than waited for: one client
	// that does not read must not stall the room.
	chatQueue = 64
	// chatLineMax bounds one line; a longer one is passed on in pieces
	// of this size, each ended with "\n", so no client can make the lab
	// buffer without limit.
	chatLineMax = 4096
)

// chatRoom is the chat lab's set of connected members.
type chatRoom struct {
	mu      sync.Mutex
	members map[*chatMember]struct{}
}

// chatMember is one chat client. Its reader is the connection's goroutine;
// its writer is a goroutine of its own that drains out, so that a
// broadcast only ever queues and never waits on a socket.
type chatMember struct {
	c       net.Conn
	name    string
	out     chan []byte
	dropped bool // guarded by chatRoom.mu
}

// serveChat runs one member: it announces the join (to the others) and a
// welcome (to the member), passes on each line prefixed with the sender's
// address, and announces the leave. Server lines start with "* ".
func (s *Server) serveChat(c net.Conn) {
	m := &chatMember{c: c, name: c.RemoteAddr().String(), out: make(chan []byte, chatQueue)}
	done := make(chan struct{})
	s.wg.Add(1)
	go s.chatWriter(m, done)
	defer close(done)

	others := s.chatJoin(m)
	s.chatSend(m, fmt.Appendf(nil, "* welcome [%s]; %d others here\n", m.name, others))
	s.chatBroadcast(m, fmt.Appendf(nil, "* [%s] joined\n", m.name))
	defer func() {
		s.chatLeave(m)
		s.chatBroadcast(m, fmt.Appendf(nil, "* [%s] left\n", m.name))
	}()

	r := bufio.NewReaderSize(c, chatLineMax)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			msg := fmt.Appendf(nil, "[%s] %s", m.name, line)
			if msg[len(msg)-1] != '\n' {
				msg = append(msg, '\n')
			}
			s.chatBroadcast(m, msg)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

func (s *Server) chatWriter(m *chatMember, done <-chan struct{}) {
	defer s.wg.Done()
	for {
		select {
		case <-done:
			return
		case b := <-m.out:
			if _, err := m.c.Write(b); err != nil {
				// Ends the reader too, which ends the membership.
				m.c.Close()
				return
			}
		}
	}
}

// chatJoin adds m to the room and says how many others were there.
func (s *Server) chatJoin(m *chatMember) int {
	s.chat.mu.Lock()
	defer s.chat.mu.Unlock()
	n := len(s.chat.members)
	s.chat.members[m] = struct{}{}
	return n
}

func (s *Server) chatLeave(m *chatMember) {
	s.chat.mu.Lock()
	defer s.chat.mu.Unlock()
	delete(s.chat.members, m)
}

// chatBroadcast queues b for every member but from.
func (s *Server) chatBroadcast(from *chatMember, b []byte) {
	s.chat.mu.Lock()
	defer s.chat.mu.Unlock()
	for m := range s.chat.members {
		if m != from {
			s.queueLocked(m, b)
		}
	}
}

func (s *Server) chatSend(to *chatMember, b []byte) {
	s.chat.mu.Lock()
	defer s.chat.mu.Unlock()
	s.queueLocked(to, b)
}

// queueLocked queues b for m, or drops m when its queue is full: closing
// its connection ends its reader, which then leaves the room.
func (s *Server) queueLocked(m *chatMember, b []byte) {
	if m.dropped {
		return
	}
	select {
	case m.out <- b:
	default:
		m.dropped = true
		m.c.Close()
		s.log.Info("chat member dropped: not reading", "member", m.name, "queued", chatQueue)
	}
}
