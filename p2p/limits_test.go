package p2p

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// One peer may have many direct messages in flight at once (a worker answering a burst of roll
// calls): each is a stream of its own, and libp2p's default of 64 per protocol per peer would
// reset the rest.
func TestDirect_ABurstFromOnePeerIsDeliveredWhole(t *testing.T) {
	a := newTestHost(t, nil, nil, testConfig(t))
	b := newTestHost(t, nil, nil, testConfig(t))
	// Above libp2p's default per-peer limit for a protocol (64), below yamux's backlog of
	// unacknowledged stream opens (256), which this test's held-open handlers would exhaust.
	const n = 200
	got := make(chan []byte, n)
	release := make(chan struct{})
	b.SetDirectHandler(func(_ peer.ID, data []byte) {
		<-release // keep every stream open until all of them exist
		got <- data
	}, func(_ peer.ID, err error) { t.Errorf("receive: %v", err) })
	if err := a.host.Connect(testContext(t), addrInfo(b)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Send(testContext(t), b.ID(), fmt.Appendf(nil, "m%d", i)); err != nil {
				errs <- err
			}
		}()
	}
	waitFor(t, "all streams open", func() bool {
		return len(b.host.Network().ConnsToPeer(a.ID())) > 0 && countStreams(b, a.ID()) >= n
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	for range n {
		<-got
	}
}

func countStreams(h *Host, p peer.ID) int {
	n := 0
	for _, c := range h.host.Network().ConnsToPeer(p) {
		for _, s := range c.GetStreams() {
			if s.Protocol() == ProtocolID {
				n++
			}
		}
	}
	return n
}

func TestReadMessage_StopsWhenMemoryIsRefused(t *testing.T) {
	refuse := func(total int) error {
		if total > 10 {
			return errors.New("no memory")
		}
		return nil
	}
	if _, err := readMessage(strings.NewReader(strings.Repeat("x", 100)), 1000, refuse, nil); err == nil {
		t.Fatal("read a message past what the memory reservation allowed")
	}
	if got, err := readMessage(strings.NewReader("short\n"), 1000, refuse, nil); err != nil || string(got) != "short" {
		t.Fatalf("short message: %q, %v", got, err)
	}
}
