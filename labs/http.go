package labs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// httpHeadMax bounds a request head, so a client cannot make the lab
// buffer without limit.
const httpHeadMax = 8 << 10

const httpIndex = `<!doctype html>
<html><head><title>sockplay http lab</title></head>
<body><h1>Hello from the sockplay http lab</h1>
<p>You sent an HTTP request by hand. Try <code>GET /hello</code>, <code>HEAD /</code>, or a path that does not exist.</p>
</body></html>
`

var httpStatus = map[int]string{
	200: "OK",
	400: "Bad Request",
	404: "Not Found",
	405: "Method Not Allowed",
	408: "Request Timeout",
	431: "Request Header Fields Too Large",
}

// serveHTTP answers one HTTP/1.0-style request and closes, which is all
// "HTTP by hand" needs: the request head ends at the first empty line
// ("\r\n\r\n", or "\n\n" from a terminal); the response always carries
// Content-Length and "Connection: close".
func (s *Server) serveHTTP(c net.Conn) {
	head, err := readHead(c, s.cfg.HTTPReadTimeout)
	var status int
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		status = 408
	case errors.Is(err, errHeadTooLarge):
		status = 431
	case err != nil:
		return // gone before sending a whole line: nobody to answer
	}
	method, path := "", ""
	if status == 0 {
		method, path, status = parseRequest(head)
	}
	if _, err := c.Write(httpResponse(status, method, path)); err != nil {
		return
	}
	s.finish(c)
}

var errHeadTooLarge = errors.New("request head too large")

// readHead reads up to the empty line that ends a request head, within
// timeout and httpHeadMax bytes. At EOF it returns the whole lines it has,
// if any, so a client that half-closes after the request line still gets
// an answer.
func readHead(c net.Conn, timeout time.Duration) ([]byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 1024)
	chunk := make([]byte, 1024)
	for {
		if end := headEnd(buf); end >= 0 {
			return buf[:end], nil
		}
		if len(buf) >= httpHeadMax {
			return nil, errHeadTooLarge
		}
		n, err := c.Read(chunk[:min(len(chunk), httpHeadMax-len(buf))])
		buf = append(buf, chunk[:n]...)
		if err != nil {
			if end := headEnd(buf); end >= 0 {
				return buf[:end], nil
			}
			if i := bytes.LastIndexByte(buf, '\n'); errors.Is(err, io.EOF) && i >= 0 && len(bytes.TrimSpace(buf)) > 0 {
				return buf[:i+1], nil
			}
			return nil, err
		}
	}
}

// headEnd is the length of the head in b up to and including the empty
// line that ends it, or -1. Empty lines before the request line do not
// end it (RFC 9112 asks servers to ignore them).
func headEnd(b []byte) int {
	seen := false
	for start := 0; ; {
		i := bytes.IndexByte(b[start:], '\n')
		if i < 0 {
			return -1
		}
		line := bytes.TrimSuffix(b[start:start+i], []byte("\r"))
		start += i + 1
		if len(line) > 0 {
			seen = true
		} else if seen {
			return start
		}
	}
}

// parseRequest checks the head and picks the status, method and path to
// answer with.
func parseRequest(head []byte) (method, path string, status int) {
	var lines []string
	for l := range strings.Lines(string(head)) {
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
		if l != "" || len(lines) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "", "", 400
	}
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || !isToken(parts[0]) || !validVersion(parts[2]) ||
		!strings.HasPrefix(parts[1], "/") {
		return "", "", 400
	}
	for _, h := range lines[1:] {
		if h == "" {
			continue
		}
		name, _, ok := strings.Cut(h, ":")
		if !ok || !isToken(name) {
			return "", "", 400
		}
	}
	method, path = parts[0], parts[1]
	if p, _, ok := strings.Cut(path, "?"); ok {
		path = p
	}
	if method != "GET" && method != "HEAD" {
		return method, path, 405
	}
	if path != "/" && path != "/hello" {
		return method, path, 404
	}
	return method, path, 200
}

// validVersion accepts HTTP/<digit>.<digit>.
func validVersion(v string) bool {
	rest, ok := strings.CutPrefix(v, "HTTP/")
	return ok && len(rest) == 3 && isDigit(rest[0]) && rest[1] == '.' && isDigit(rest[2])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether t is an RFC 9110 token, as methods and header
// names must be.
func isToken(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// httpResponse is the whole response for status; a HEAD gets the headers
// of the matching GET without its body.
func httpResponse(status int, method, path string) []byte {
	ctype, body := "text/plain; charset=utf-8", fmt.Sprintf("%d %s\n", status, httpStatus[status])
	var extra string
	switch {
	case status == 200 && path == "/":
		ctype, body = "text/html; charset=utf-8", httpIndex
	case status == 200 && path == "/hello":
		body = "hello\n"
	case status == 405:
		extra = "Allow: GET, HEAD\r\n"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.0 %d %s\r\n", status, httpStatus[status])
	fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n%sConnection: close\r\nServer: sockplay-lab\r\n\r\n", ctype, len(body), extra)
	if method != "HEAD" {
		b.WriteString(body)
	}
	return b.Bytes()
}
