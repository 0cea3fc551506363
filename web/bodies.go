package web

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

// bodyDeadline gives every request's body BodyTimeout to arrive, before
// any handler or check sees the request. A WebSocket handshake carries
// no body, so its connection, once upgraded, keeps no deadline.
func (h *handler) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || h.cfg.BodyTimeout < 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(h.cfg.BodyTimeout)) == nil {
			// A copy of r, so that net/http's own request keeps its body
			// as it knows it, and decides as before whether to read the
			// rest of it after the handler.
			r2 := *r
			r2.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// bodySize refuses a request whose Content-Length is over MaxMessage
// with 413, before a byte of its body is read. (A body of unknown length
// is cut at MaxMessage by the handler that reads it.)
func (h *handler) bodySize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > h.cfg.MaxMessage {
			refuse(w, r, codeTooLarge, "a request body may be at most "+strconv.FormatInt(h.cfg.MaxMessage, 10)+" bytes (-max-message-kb)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the connection's read deadline once the body has
// been read to its end: a handler that then runs long (an op that
// blocks, a stream of events) must not have its request cancelled when
// net/http's read of the connection, which watches for the client going
// away, meets the deadline. After any other error the deadline stays, so
// that nothing more is waited for.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
