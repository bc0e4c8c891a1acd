package actortest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

const (
	rollCall = `{"type":"MsgRollCall"}`
	execute  = `{"type":"MsgExecute"}`
)

// wire is a fake host: what it sends is recorded, and the test plays the other nodes.
type wire struct {
	mu        sync.Mutex
	sent      []string
	onMessage func(peer.ID, []byte)
	topic     chan p2p.Message
}

func newWire() *wire { return &wire{topic: make(chan p2p.Message, 16)} }

func (w *wire) ID() peer.ID                                   { return "self" }
func (w *wire) Connected(peer.ID) bool                        { return true }
func (w *wire) AddrInfo(p peer.ID) peer.AddrInfo              { return peer.AddrInfo{ID: p} }
func (w *wire) Publish(context.Context, string, []byte) error { return nil }
func (w *wire) Send(_ context.Context, to peer.ID, data []byte) error {
	w.mu.Lock()
	w.sent = append(w.sent, string(to)+" "+string(data))
	w.mu.Unlock()
	return nil
}
func (w *wire) Subscribe(string) (p2p.Subscription, error) { return topicSub{w.topic}, nil }
func (w *wire) SetDirectHandler(on func(peer.ID, []byte), _ func(peer.ID, error)) {
	w.onMessage = on
}
func (w *wire) sentCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sent)
}

type topicSub struct{ ch chan p2p.Message }

func (s topicSub) Next(ctx context.Context) (p2p.Message, error) {
	select {
	case m := <-s.ch:
		return m, nil
	case <-ctx.Done():
		return p2p.Message{}, ctx.Err()
	}
}
func (s topicSub) Cancel() {}

// inbox installs a direct handler on h and returns what reaches it.
func inbox(h Host) chan string {
	got := make(chan string, 16)
	h.SetDirectHandler(func(from peer.ID, data []byte) { got <- string(from) + " " + string(data) }, nil)
	return got
}

func TestLinks_CutPartitionsBothWaysAndMendHeals(t *testing.T) {
	w, l := newWire(), NewLinks()
	h := l.Wrap(w)
	got := inbox(h)
	l.Cut("a")
	if h.Connected("a") || !h.Connected("b") {
		t.Fatal("Connected does not follow the cut")
	}
	if err := h.Send(context.Background(), "a", []byte(execute)); !errors.Is(err, ErrPartitioned) {
		t.Fatalf("send across the cut: %v", err)
	}
	w.onMessage("a", []byte(execute))
	w.onMessage("b", []byte(execute))
	if m := <-got; m != "b "+execute {
		t.Fatalf("got %q, want only b's message", m)
	}
	l.Mend("a")
	w.onMessage("a", []byte(execute))
	if m := <-got; m != "a "+execute || !h.Connected("a") {
		t.Fatalf("after mending got %q", m)
	}
}

func TestLinks_DropByTypeAndPeer(t *testing.T) {
	w, l := newWire(), NewLinks()
	h := l.Wrap(w)
	got := inbox(h)
	r := l.Drop(Match{Peer: "a", Type: messages.TypeExecute, Dir: Inbound})
	w.onMessage("a", []byte(execute))  // dropped
	w.onMessage("a", []byte(rollCall)) // another type passes
	w.onMessage("b", []byte(execute))  // another peer passes
	if a, b := <-got, <-got; a != "a "+rollCall || b != "b "+execute {
		t.Fatalf("got %q, %q", a, b)
	}
	if r.Hits() != 1 {
		t.Fatalf("hits %d, want 1", r.Hits())
	}
	out := l.Drop(Match{Type: messages.TypeExecute, Dir: Outbound})
	if err := h.Send(context.Background(), "a", []byte(execute)); err != nil || w.sentCount() != 0 || out.Hits() != 1 {
		t.Fatalf("dropped send: err %v, %d sent", err, w.sentCount())
	}
	r.Remove()
	out.Remove()
	w.onMessage("a", []byte(execute))
	if m := <-got; m != "a "+execute {
		t.Fatalf("after Remove got %q", m)
	}
}

func TestLinks_HoldKeepsASendUntilReleased(t *testing.T) {
	w, l := newWire(), NewLinks()
	h := l.Wrap(w)
	r := l.Hold(Match{Peer: "a", Type: messages.TypeExecute, Dir: Outbound})
	sent := make(chan error, 1)
	go func() { sent <- h.Send(context.Background(), "a", []byte(execute)) }()
	if !r.WaitHits(1, 10*time.Second) {
		t.Fatal("the held send never reached the rule")
	}
	if w.sentCount() != 0 {
		t.Fatal("a held send went out")
	}
	r.Release()
	if err := <-sent; err != nil || w.sentCount() != 1 {
		t.Fatalf("released send: %v, %d sent", err, w.sentCount())
	}
	// A held send gives up at its own deadline.
	r2 := l.Hold(Match{Dir: Outbound})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r2.WaitHits(1, 10*time.Second); cancel() }()
	if err := h.Send(ctx, "b", []byte(rollCall)); !errors.Is(err, context.Canceled) {
		t.Fatalf("held send at its deadline: %v", err)
	}
}

func TestLinks_DelayedTopicMessagesArriveLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, l := newWire(), NewLinks()
		h := l.Wrap(w)
		sub, err := h.Subscribe("t")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Cancel()
		l.Delay(Match{Peer: "a", Type: messages.TypeRollCall, Dir: Inbound}, time.Second)
		start := time.Now()
		w.topic <- p2p.Message{Topic: "t", From: "c", Author: "a", Data: []byte(rollCall)} // delayed: its publisher is a
		w.topic <- p2p.Message{Topic: "t", From: "c", Author: "b", Data: []byte(rollCall)}
		first, err := sub.Next(context.Background())
		if err != nil || first.Author != "b" {
			t.Fatalf("first %+v %v, want b's at once", first, err)
		}
		second, err := sub.Next(context.Background())
		if err != nil || second.Author != "a" || time.Since(start) < time.Second {
			t.Fatalf("second %+v %v after %v, want a's a second late", second, err, time.Since(start))
		}
	})
}

func TestLinks_CloseDropsWhatIsStillDelayedOrHeld(t *testing.T) {
	w, l := newWire(), NewLinks()
	h := l.Wrap(w)
	got := inbox(h)
	delayed := l.Delay(Match{Peer: "a", Dir: Inbound}, time.Hour)
	held := l.Hold(Match{Peer: "b", Dir: Inbound})
	w.onMessage("a", []byte(execute))
	w.onMessage("b", []byte(execute))
	if !delayed.WaitHits(1, 10*time.Second) || !held.WaitHits(1, 10*time.Second) {
		t.Fatal("the rules never matched")
	}
	l.Close()
	w.onMessage("c", []byte(rollCall)) // no rule is left
	if m := <-got; m != "c "+rollCall {
		t.Fatalf("got %q: a delayed or held message arrived after Close", m)
	}
	select {
	case m := <-got:
		t.Fatalf("got %q after Close", m)
	default:
	}
}
