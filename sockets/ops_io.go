package sockets

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// The ops that move bytes: each waits its turn in its socket's lane, and
// runs in the mode the socket had when the call was made.

// MaxBufsize caps recv's bufsize: a larger request is served with this
// much and the event says so, rather than allocating what a typo asked for.
const MaxBufsize = 1 << 20

// MaxChunks bounds the pieces one sendchunks may make.
const MaxChunks = 10_000

func needBufsize(c *call) error {
	a := &c.op.Args
	if a.Bufsize == nil {
		return errType("%s() missing required argument 'bufsize'", c.op.Op)
	}
	if *a.Bufsize < 0 {
		return errValue("negative buffersize in %s", c.op.Op)
	}
	if *a.Bufsize > MaxBufsize {
		req := *a.Bufsize
		a.Requested = &req
		a.Bufsize = intp(MaxBufsize)
	}
	return nil
}

// needData decodes a send's bytes once, and spends them from the
// session's send rate.
func needData(c *call) error {
	if err := decodeData(c); err != nil {
		return err
	}
	return admitSend(c)
}

// decodeData decodes the op's data into c.data, and echoes it in one
// canonical form, whatever the client sent.
func decodeData(c *call) error {
	a := &c.op.Args
	if a.Data == nil {
		return errType("%s() missing required argument 'data'", c.op.Op)
	}
	b, err := a.Data.Bytes()
	if err != nil {
		return errValue("%v", err)
	}
	c.data = b
	if a.Data.B64 == nil {
		a.Data, _ = a.Data.canonical()
	}
	return nil
}

// Each check of a send spends the rate last: an op refused for its
// arguments spends none of it.

func admitSend(c *call) error {
	if err := c.s.admitSend(c.op.Op, len(c.data)); err != nil {
		return err
	}
	return nil
}

func checkSendto(c *call) error {
	if err := decodeData(c); err != nil {
		return err
	}
	if c.op.Args.Addr == "" {
		return errType("sendto() missing required argument 'address'")
	}
	return admitSend(c)
}

func checkSendchunks(c *call) error {
	if err := decodeData(c); err != nil {
		return err
	}
	a := &c.op.Args
	if a.Chunk == nil || *a.Chunk < 1 {
		return errValue("sendchunks() needs chunk, a size of at least 1 byte")
	}
	// Each piece is a system call and an event: bound them, as a single
	// op must not flood the session's log.
	if pieces := (len(c.data) + *a.Chunk - 1) / *a.Chunk; pieces > MaxChunks {
		return errValue("sendchunks() of %d bytes in chunks of %d is %d sends; at most %d: use a bigger chunk", len(c.data), *a.Chunk, pieces, MaxChunks)
	}
	if a.Delay != nil && (*a.Delay < 0 || *a.Delay > 60 || math.IsNaN(*a.Delay)) {
		return errValue("sendchunks() delay must be between 0 and 60 seconds")
	}
	return admitSend(c)
}

// sendOp is send and sendto: one send as Python's, which in blocking mode
// queues all it can before returning.
func sendOp(c *call) (*Result, error) {
	k, a := c.sock, c.op.Args
	var to unix.Sockaddr
	if c.op.Op == "sendto" {
		ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
		sa, perr := c.s.sockaddrFor(ctx, k, "sendto", a.Addr)
		cancel()
		if perr != nil {
			return nil, perr
		}
		if perr := c.s.checkPolicy(k, "sendto", sa); perr != nil {
			return nil, perr
		}
		to = sa
	} else if perr := c.s.checkPeer(k); perr != nil {
		return nil, perr
	}
	n, err := k.send(c.data, c.tmo, to)
	if err != nil {
		return nil, err
	}
	return &Result{N: intp(n)}, nil
}

func sendallOp(c *call) (*Result, error) {
	if perr := c.s.checkPeer(c.sock); perr != nil {
		return nil, perr
	}
	// Python's sendall loses the count on an error; showing it is the
	// point.
	n, err := c.sock.sendall(c.data, c.tmo)
	return &Result{N: intp(n)}, err
}

// sendchunksOp splits data into chunk-byte sends with a pause between
// them. Each send is its own event (auto), and the op's event gives the
// total.
func sendchunksOp(c *call) (*Result, error) {
	k, a, data := c.sock, c.op.Args, c.data
	var delay time.Duration
	if a.Delay != nil {
		delay = time.Duration(*a.Delay * float64(time.Second))
	}
	total := 0
	for off := 0; off < len(data); off += *a.Chunk {
		if off > 0 && delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-k.closedCh:
				t.Stop()
			}
		}
		end := min(off+*a.Chunk, len(data))
		start := c.s.now()
		// Each piece is a datagram of its own on a connected UDP
		// socket, and the pause before it as long as a minute.
		var n int
		var err error
		if perr := c.s.checkPeer(k); perr != nil {
			err = perr
		} else {
			n, err = k.send(data[off:end], c.tmo, nil)
		}
		ev := Event{Start: start, Sock: k.id, Op: "send", Args: &Args{Data: B64Data(data[off:end])}, Auto: true, Parent: c.id, Origin: c.op.Origin}
		if err != nil {
			ev.Error = asError(err)
			c.s.append(ev, false)
			return &Result{N: intp(total)}, err
		}
		ev.OK, ev.Result = true, &Result{N: intp(n)}
		c.s.append(ev, false)
		total += n
		if n < end-off {
			return &Result{N: intp(total), Note: "a send moved only part of its chunk; stopped"}, nil
		}
	}
	return &Result{N: intp(total)}, nil
}

// recvOp is recv and recvfrom.
func recvOp(c *call) (*Result, error) {
	k, a := c.sock, c.op.Args
	if *a.Bufsize == 0 && c.op.Op == "recv" {
		// CPython answers recv(0) with b'' before it looks at the socket,
		// whatever its type: it never waits, never fails and takes no
		// datagram. (recvfrom(0) does make the call, and so do we.)
		return &Result{N: intp(0), Note: "recv(0) returns b'' at once without reading: this is not EOF"}, nil
	}
	r, err := k.recv(*a.Bufsize, c.tmo)
	if err != nil {
		return nil, err
	}
	res := &Result{N: intp(len(r.data)), Data: r.data}
	if c.op.Op == "recvfrom" && r.from != nil {
		res.Addr = k.fmtAddr(r.from)
	}
	if k.stype == unix.SOCK_DGRAM {
		if r.size > len(r.data) {
			res.Truncated, res.Size = true, r.size
			res.Note = fmt.Sprintf("the datagram had %d bytes: the %d past bufsize are gone", r.size, r.size-len(r.data))
		}
	} else if len(r.data) == 0 {
		res.EOF = true
		k.setEOF()
	}
	if a.Requested != nil {
		res.Note = fmt.Sprintf("bufsize %d capped at %d", *a.Requested, MaxBufsize)
	}
	return res, nil
}

// recvallOp is the loop every framing lesson writes: recv until bufsize
// bytes have come, or EOF. Each recv is its own event (auto); the op's
// event has all the bytes, or the error with what came before it.
func recvallOp(c *call) (*Result, error) {
	k, want := c.sock, *c.op.Args.Bufsize
	var got []byte
	for len(got) < want {
		start := c.s.now()
		n := want - len(got)
		r, err := k.recv(n, c.tmo)
		ev := Event{Start: start, Sock: k.id, Op: "recv", Args: &Args{Bufsize: intp(n)}, Auto: true, Parent: c.id, Origin: c.op.Origin}
		if err != nil {
			ev.Error = asError(err)
			c.s.append(ev, false)
			return &Result{N: intp(len(got)), Data: got}, err
		}
		ev.OK, ev.Result = true, &Result{N: intp(len(r.data)), Data: r.data, EOF: len(r.data) == 0}
		c.s.append(ev, false)
		if len(r.data) == 0 {
			k.setEOF()
			return &Result{N: intp(len(got)), Data: got, EOF: true,
				Note: fmt.Sprintf("EOF after %d of %d bytes", len(got), want)}, nil
		}
		got = append(got, r.data...)
	}
	return &Result{N: intp(len(got)), Data: got}, nil
}
