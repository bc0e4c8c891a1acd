package actortest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// Host is what a node's actors use of the network: actors.Host, restated here because the
// actors' own tests import this package, which therefore cannot import actors.
type Host interface {
	ID() peer.ID
	Connected(p peer.ID) bool
	AddrInfo(p peer.ID) peer.AddrInfo
	Publish(ctx context.Context, topic string, data []byte) error
	Send(ctx context.Context, to peer.ID, data []byte) error
	Subscribe(topic string) (p2p.Subscription, error)
	SetDirectHandler(onMessage func(from peer.ID, data []byte), onError func(from peer.ID, err error))
}

// ErrPartitioned is what a send to a peer cut off by Links.Cut fails with.
var ErrPartitioned = errors.New("partitioned by the test")

// Direction says which way a Rule's messages go, seen from the node whose Links hold it.
type Direction int

const (
	// Inbound messages come to this node: direct messages and topic messages (by their
	// publisher or the neighbour that forwarded them).
	Inbound Direction = iota
	// Outbound messages are direct messages this node sends (a publish has no one recipient:
	// match it at the receivers instead).
	Outbound
)

// Match selects the messages a Rule applies to.
type Match struct {
	Peer peer.ID // the other node; "" for any
	Type string  // the wire type (messages.TypeExecute…); "" for any
	Dir  Direction
}

// Links injects network faults between one node's actors and its libp2p host: partitions from
// given peers, and rules that drop, delay or hold messages by type and peer. The node is built
// with Wrap around its host (daemon.Options.WrapHost); everything below it, libp2p included,
// is real. Every fault takes effect when its method returns, and every Rule says when it matched
// (WaitHits), so a test waits on signals, never on time.
type Links struct {
	mu        sync.Mutex
	cut       map[peer.ID]bool
	rules     []*Rule
	closed    chan struct{} // Close: what is delayed or held is dropped
	closeOnce sync.Once
}

// NewLinks returns fault-free links.
func NewLinks() *Links { return &Links{cut: make(map[peer.ID]bool), closed: make(chan struct{})} }

// errLinksClosed ends the wait of a delayed or held message when the links close.
var errLinksClosed = errors.New("links closed by the test")

// Close drops every message still delayed or held and removes every rule: the test is over and
// its node stops, so nothing may arrive later at actors that are gone.
func (l *Links) Close() {
	l.closeOnce.Do(func() { close(l.closed) })
	l.mu.Lock()
	l.rules = nil
	l.mu.Unlock()
}

// Cut partitions this node from p: nothing p sends reaches this node's actors, every send to p
// fails with ErrPartitioned, and p is not Connected. Cut both sides for a full partition.
func (l *Links) Cut(p peer.ID) {
	l.mu.Lock()
	l.cut[p] = true
	l.mu.Unlock()
}

// Mend undoes Cut.
func (l *Links) Mend(p peer.ID) {
	l.mu.Lock()
	delete(l.cut, p)
	l.mu.Unlock()
}

// Drop discards the messages m matches. A dropped outbound send reports success, as a message
// lost on the wire does.
func (l *Links) Drop(m Match) *Rule { return l.add(&Rule{match: m, drop: true}) }

// Delay delivers the messages m matches d late (inbound), or sends them d late (outbound).
func (l *Links) Delay(m Match, d time.Duration) *Rule { return l.add(&Rule{match: m, delay: d}) }

// Hold keeps the messages m matches until Release (or Remove): the test decides, on a signal
// of its own, when they move on. An outbound send waits, within its own deadline.
func (l *Links) Hold(m Match) *Rule {
	return l.add(&Rule{match: m, held: make(chan struct{})})
}

func (l *Links) add(r *Rule) *Rule {
	r.links = l
	r.hit = make(chan struct{}, 1)
	l.mu.Lock()
	l.rules = append(l.rules, r)
	l.mu.Unlock()
	return r
}

// Rule is one fault on messages a Match selects.
type Rule struct {
	links    *Links
	match    Match
	drop     bool
	delay    time.Duration
	held     chan struct{} // closed by Release
	released sync.Once
	hits     atomic.Int64
	hit      chan struct{}
}

// Hits says how many messages the rule has matched.
func (r *Rule) Hits() int { return int(r.hits.Load()) }

// WaitHits waits until the rule has matched at least n messages; false at the deadline.
func (r *Rule) WaitHits(n int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for r.Hits() < n {
		select {
		case <-r.hit:
		case <-deadline.C:
			return r.Hits() >= n
		}
	}
	return true
}

// Release lets the messages a Hold keeps go on; later ones pass too.
func (r *Rule) Release() {
	if r.held != nil {
		r.released.Do(func() { close(r.held) })
	}
}

// Remove ends the rule; messages it holds go on.
func (r *Rule) Remove() {
	l := r.links
	l.mu.Lock()
	for i, x := range l.rules {
		if x == r {
			l.rules = append(l.rules[:i], l.rules[i+1:]...)
			break
		}
	}
	l.mu.Unlock()
	r.Release()
}

func (r *Rule) record() {
	r.hits.Add(1)
	select {
	case r.hit <- struct{}{}:
	default:
	}
}

// verdict is what happens to one message.
type verdict struct {
	drop bool
	wait func(ctx context.Context) error // nil: at once
}

// judge decides the fate of a message between this node and p (any of peers, for a topic
// message that names a publisher and a forwarder). The message is parsed for its type only when
// a rule for this peer and direction asks for one: a node without rules pays nothing, which
// matters for results of many megabytes.
func (l *Links) judge(dir Direction, data []byte, peers ...peer.ID) verdict {
	l.mu.Lock()
	for _, p := range peers {
		if l.cut[p] {
			l.mu.Unlock()
			return verdict{drop: true}
		}
	}
	var candidates []*Rule
	needType := false
	for _, r := range l.rules {
		for _, p := range peers {
			if r.match.Dir == dir && (r.match.Peer == "" || r.match.Peer == p) {
				candidates = append(candidates, r)
				needType = needType || r.match.Type != ""
				break
			}
		}
	}
	l.mu.Unlock()
	if len(candidates) == 0 {
		return verdict{}
	}
	typ := ""
	if needType {
		typ, _ = messages.TypeOf(data) // unreadable messages match only rules for any type
	}
	for _, r := range candidates {
		if r.match.Type != "" && r.match.Type != typ {
			continue
		}
		r.record()
		switch {
		case r.drop:
			return verdict{drop: true}
		case r.held != nil:
			return verdict{wait: func(ctx context.Context) error {
				select {
				case <-r.held:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				case <-l.closed:
					return errLinksClosed
				}
			}}
		default:
			d := r.delay
			return verdict{wait: func(ctx context.Context) error {
				t := time.NewTimer(d)
				defer t.Stop()
				select {
				case <-t.C:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				case <-l.closed:
					return errLinksClosed
				}
			}}
		}
	}
	return verdict{}
}

func (l *Links) isCut(p peer.ID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut[p]
}

// Wrap returns h with these links' faults between it and the node's actors.
func (l *Links) Wrap(h Host) Host { return &faultyHost{Host: h, links: l} }

type faultyHost struct {
	Host
	links *Links
}

func (h *faultyHost) Connected(p peer.ID) bool {
	return !h.links.isCut(p) && h.Host.Connected(p)
}

func (h *faultyHost) Send(ctx context.Context, to peer.ID, data []byte) error {
	if h.links.isCut(to) {
		return fmt.Errorf("send to %s: %w", to, ErrPartitioned)
	}
	v := h.links.judge(Outbound, data, to)
	if v.drop {
		return nil
	}
	if v.wait != nil {
		if err := v.wait(ctx); err != nil {
			return fmt.Errorf("send to %s: held by the test: %w", to, err)
		}
	}
	return h.Host.Send(ctx, to, data)
}

func (h *faultyHost) SetDirectHandler(onMessage func(from peer.ID, data []byte), onError func(from peer.ID, err error)) {
	if onMessage == nil {
		h.Host.SetDirectHandler(nil, onError)
		return
	}
	h.Host.SetDirectHandler(func(from peer.ID, data []byte) {
		v := h.links.judge(Inbound, data, from)
		switch {
		case v.drop:
		case v.wait != nil:
			go func() {
				if v.wait(context.Background()) == nil {
					onMessage(from, data)
				}
			}()
		default:
			onMessage(from, data)
		}
	}, onError)
}

func (h *faultyHost) Subscribe(topic string) (p2p.Subscription, error) {
	sub, err := h.Host.Subscribe(topic)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &faultySub{inner: sub, links: h.links, ch: make(chan p2p.Message), cancel: cancel, done: make(chan struct{})}
	go s.pump(ctx)
	return s, nil
}

// faultySub applies the links to a subscription: a pump reads the real one, and messages that
// are delayed or held come back through the same channel later.
type faultySub struct {
	inner  p2p.Subscription
	links  *Links
	ch     chan p2p.Message
	cancel context.CancelFunc
	done   chan struct{} // closed when the pump ends; err says why
	err    error
}

func (s *faultySub) pump(ctx context.Context) {
	defer close(s.done)
	for {
		msg, err := s.inner.Next(ctx)
		if err != nil {
			s.err = err
			return
		}
		v := s.links.judge(Inbound, msg.Data, msg.Author, msg.From)
		switch {
		case v.drop:
		case v.wait != nil:
			go func() {
				if v.wait(ctx) == nil {
					s.deliver(ctx, msg)
				}
			}()
		default:
			s.deliver(ctx, msg)
		}
	}
}

func (s *faultySub) deliver(ctx context.Context, msg p2p.Message) {
	select {
	case s.ch <- msg:
	case <-ctx.Done():
	}
}

func (s *faultySub) Next(ctx context.Context) (p2p.Message, error) {
	select {
	case msg := <-s.ch:
		return msg, nil
	case <-s.done:
		return p2p.Message{}, fmt.Errorf("subscription ended: %w", s.err)
	case <-ctx.Done():
		return p2p.Message{}, ctx.Err()
	}
}

func (s *faultySub) Cancel() {
	s.cancel()
	s.inner.Cancel()
}
