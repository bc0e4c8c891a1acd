package p2p

import (
	"errors"
	"net"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
)

// coalescingMuxer is a stream multiplexer (yamux, on the wire exactly as before) whose frames
// reach the secure connection in batches. yamux writes every frame on its own, and each write
// is a TLS record and a system call; a b7s direct message is several frames (open, data,
// close) in each direction, so on a busy node the writes were about a tenth of its CPU. Frames
// are handed to a writer goroutine; while it writes, the next frames gather, and go out in
// one write. An idle connection's frame goes out at once: nothing waits for company.
type coalescingMuxer struct{ network.Multiplexer }

// NewConn implements network.Multiplexer.
func (m coalescingMuxer) NewConn(c net.Conn, isServer bool, scope network.PeerScope) (network.MuxedConn, error) {
	return m.Multiplexer.NewConn(newCoalescingConn(c), isServer, scope)
}

// maxPendingWrite bounds what waits for the writer; a writer past it makes callers wait, so a
// slow peer holds at most this much per connection.
const maxPendingWrite = 256 << 10

// coalescingConn is a net.Conn whose writes are gathered and written by one goroutine.
type coalescingConn struct {
	net.Conn
	mu      sync.Mutex
	cond    *sync.Cond // writer: there is data or we are closing; writers: there is room
	pending []byte
	spare   []byte // the writer's last buffer, reused
	err     error  // the first write error; every later Write returns it
	closing bool
	done    chan struct{}
}

func newCoalescingConn(c net.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c, done: make(chan struct{})}
	cc.cond = sync.NewCond(&cc.mu)
	go cc.writeLoop()
	return cc
}

var errConnClosing = errors.New("connection closing")

// Write queues p (copied: the multiplexer reuses its buffers) for the writer.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && !c.closing && len(c.pending) > 0 && len(c.pending)+len(p) > maxPendingWrite {
		c.cond.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.closing {
		return 0, errConnClosing
	}
	c.pending = append(c.pending, p...)
	c.cond.Broadcast()
	return len(p), nil
}

func (c *coalescingConn) writeLoop() {
	defer close(c.done)
	c.mu.Lock()
	for {
		for len(c.pending) == 0 && !c.closing {
			c.cond.Wait()
		}
		if len(c.pending) == 0 { // closing, everything written
			c.mu.Unlock()
			return
		}
		batch := c.pending
		c.pending = c.spare[:0]
		c.cond.Broadcast() // room again
		c.mu.Unlock()
		_, err := c.Conn.Write(batch)
		c.mu.Lock()
		c.spare = batch
		if err != nil {
			c.err = err
			c.pending = nil
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
	}
}

// Close closes the connection at once, as yamux closes its own: what is still queued is
// dropped, and a write in progress fails, so the writer ends.
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	c.closing = true
	c.pending = nil
	c.cond.Broadcast()
	c.mu.Unlock()
	err := c.Conn.Close()
	<-c.done
	return err
}
