package p2p

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// recordingConn is a net.Conn that records each Write and can hold writes until released.
type recordingConn struct {
	net.Conn
	mu      sync.Mutex
	writes  [][]byte
	hold    chan struct{} // when non-nil, Write waits for it
	failing error
	closed  chan struct{}
}

func newRecordingConn() *recordingConn { return &recordingConn{closed: make(chan struct{})} }

func (r *recordingConn) Write(p []byte) (int, error) {
	if r.hold != nil {
		select {
		case <-r.hold:
		case <-r.closed:
			return 0, net.ErrClosed
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing != nil {
		return 0, r.failing
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recordingConn) Close() error { close(r.closed); return nil }

func (r *recordingConn) all() ([]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Join(r.writes, nil), len(r.writes)
}

func TestCoalescingConn_GathersFramesWrittenWhileTheWriterIsBusy(t *testing.T) {
	rec := newRecordingConn()
	rec.hold = make(chan struct{})
	c := newCoalescingConn(rec)
	var want []byte
	for i := range 50 {
		frame := bytes.Repeat([]byte{byte(i)}, 12)
		buf := bytes.Clone(frame)
		if n, err := c.Write(buf); err != nil || n != len(frame) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
		clear(buf) // the caller reuses its buffer at once
		want = append(want, frame...)
	}
	close(rec.hold)
	deadline := time.After(5 * time.Second)
	for {
		got, n := rec.all()
		if bytes.Equal(got, want) {
			if n > 2 { // the first frame, then everything that gathered behind it
				t.Fatalf("%d writes for 50 frames, want at most 2", n)
			}
			break
		}
		select {
		case <-deadline:
			t.Fatalf("wrote %d bytes in %d writes, want %d bytes", len(got), n, len(want))
		case <-time.After(time.Millisecond):
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCoalescingConn_AFailedWriteFailsLaterWrites(t *testing.T) {
	rec := newRecordingConn()
	boom := errors.New("boom")
	rec.failing = boom
	c := newCoalescingConn(rec)
	defer c.Close()
	if _, err := c.Write([]byte("first")); err != nil {
		t.Fatalf("the first write is queued: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Write([]byte("again"))
		if errors.Is(err, boom) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still succeed after the connection failed: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// A writer blocked on a full queue behind a stuck connection is released by Close.
func TestCoalescingConn_CloseReleasesBlockedWriters(t *testing.T) {
	rec := newRecordingConn()
	rec.hold = make(chan struct{}) // never released: the peer does not read
	c := newCoalescingConn(rec)
	if _, err := c.Write(make([]byte, maxPendingWrite)); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		for {
			if _, err := c.Write(make([]byte, maxPendingWrite)); err != nil {
				blocked <- err
				return
			}
		}
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-blocked:
		if err == nil {
			t.Fatal("blocked write succeeded after close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write is still blocked after Close")
	}
}

// Through a real pipe, bytes arrive complete and in order.
func TestCoalescingConn_KeepsOrderOverAPipe(t *testing.T) {
	a, b := net.Pipe()
	c := newCoalescingConn(a)
	var want []byte
	go func() {
		for i := range 1000 {
			frame := []byte{byte(i), byte(i >> 8), 0xab}
			_, _ = c.Write(frame)
		}
	}()
	for i := range 1000 {
		want = append(want, byte(i), byte(i>>8), 0xab)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("bytes arrived out of order or changed")
	}
	c.Close()
	b.Close()
}
