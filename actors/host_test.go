package actors

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/p2p"
)

// fakeHost is a Host without a network. It records what the actors send and publish, and lets
// a test deliver topic messages and direct messages the way libp2p would, so listeners, the
// router and the owners are tested without sockets (and in virtual time).
type fakeHost struct {
	self      peer.ID
	sent      chan sentMessage // direct sends, in order
	published chan sentMessage // publishes, in order; to is empty
	// connected answers Connected; nil means every peer is connected.
	connected func(peer.ID) bool

	mu       sync.Mutex
	subs     map[string][]*fakeSubscription
	onDirect func(peer.ID, []byte)
	onError  func(peer.ID, error)
}

type sentMessage struct {
	to    peer.ID
	topic string
	data  []byte
}

func newFakeHost(self peer.ID) *fakeHost {
	return &fakeHost{
		self:      self,
		sent:      make(chan sentMessage, 1024),
		published: make(chan sentMessage, 1024),
		subs:      make(map[string][]*fakeSubscription),
	}
}

func (h *fakeHost) ID() peer.ID { return h.self }

func (h *fakeHost) Connected(p peer.ID) bool { return h.connected == nil || h.connected(p) }

func (h *fakeHost) AddrInfo(p peer.ID) peer.AddrInfo { return peer.AddrInfo{ID: p} }

func (h *fakeHost) Publish(_ context.Context, topic string, data []byte) error {
	h.published <- sentMessage{topic: topic, data: data}
	return nil
}

func (h *fakeHost) Send(_ context.Context, to peer.ID, data []byte) error {
	h.sent <- sentMessage{to: to, data: data}
	return nil
}

func (h *fakeHost) Subscribe(topic string) (p2p.Subscription, error) {
	s := &fakeSubscription{topic: topic, ch: make(chan p2p.Message, 1024), done: make(chan struct{})}
	h.mu.Lock()
	h.subs[topic] = append(h.subs[topic], s)
	h.mu.Unlock()
	return s, nil
}

func (h *fakeHost) SetDirectHandler(onMessage func(peer.ID, []byte), onError func(peer.ID, error)) {
	h.mu.Lock()
	h.onDirect, h.onError = onMessage, onError
	h.mu.Unlock()
}

// deliverTopic hands a message from author to every live subscription of topic.
func (h *fakeHost) deliverTopic(topic string, author peer.ID, data []byte) {
	h.mu.Lock()
	subs := append([]*fakeSubscription(nil), h.subs[topic]...)
	h.mu.Unlock()
	for _, s := range subs {
		select {
		case s.ch <- p2p.Message{Topic: topic, From: author, Author: author, Data: data}:
		case <-s.done:
		}
	}
}

// deliverDirect calls the direct handler as an inbound stream would; a non-nil err is a
// failed read (too large, malformed) instead.
func (h *fakeHost) deliverDirect(from peer.ID, data []byte, err error) {
	h.mu.Lock()
	onDirect, onError := h.onDirect, h.onError
	h.mu.Unlock()
	if err != nil {
		if onError != nil {
			onError(from, err)
		}
		return
	}
	if onDirect != nil {
		onDirect(from, data)
	}
}

// subscribers is the number of live subscriptions of topic.
func (h *fakeHost) subscribers(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.subs[topic] {
		select {
		case <-s.done:
		default:
			n++
		}
	}
	return n
}

type fakeSubscription struct {
	topic string
	ch    chan p2p.Message
	once  sync.Once
	done  chan struct{}
}

var errSubscriptionCancelled = errors.New("subscription cancelled")

func (s *fakeSubscription) Next(ctx context.Context) (p2p.Message, error) {
	select {
	case m := <-s.ch:
		return m, nil
	case <-s.done:
		return p2p.Message{}, errSubscriptionCancelled
	case <-ctx.Done():
		return p2p.Message{}, ctx.Err()
	}
}

func (s *fakeSubscription) Cancel() { s.once.Do(func() { close(s.done) }) }

// testOutbox is an outbox on host that lets its senders go when the test ends.
func testOutbox(t testing.TB, host Host, sys *actortest.System) *outbox {
	o := newOutbox(host, time.Second, newMetrics(nil), sys.Log)
	t.Cleanup(func() { o.drain(time.Second) })
	return o
}
