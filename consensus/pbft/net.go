package pbft

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"

	"github.com/b7s-actor/b7s/p2p"
)

// NetConfig is how a cluster's messages travel (spec §6): one message per stream on the
// cluster's own protocol, each send bounded.
type NetConfig struct {
	SendTimeout time.Duration // one send (the original: 5 s)
	MaxMessage  int           // bytes; a longer message is refused while it is read
	// Silent, while it returns true, makes the replica silent: every message in and out is
	// dropped. The B7S_PBFT_BYZANTINE test hook (spec §6); nil: never.
	Silent func() bool
}

// Reasons an inbound message is dropped before the replica sees it.
const (
	DropNotInCluster   = "not_in_cluster"
	DropMalformed      = "malformed"
	DropTooLarge       = "too_large"
	DropSilenced       = "silenced"
	DropUnknownCluster = "unknown_cluster"
)

// Mux is a host's PBFT endpoint: one stream handler for the protocols of all its clusters
// (ProtocolPrefix + request ID), installed once. A handler per cluster, as the original
// registers, changes the host's protocol list twice per request, and each change has identify
// push the whole list to every connected peer.
type Mux struct {
	h    host.Host
	mu   sync.Mutex
	nets map[protocol.ID]*Net
	// dropped gets what arrives for no cluster of this host.
	dropped func(from peer.ID, reason string, err error)
}

// NewMux installs the handler on h; dropped (nil: ignored) hears of streams for no cluster of
// this host. Close removes the handler.
func NewMux(h host.Host, dropped func(from peer.ID, reason string, err error)) *Mux {
	if dropped == nil {
		dropped = func(peer.ID, string, error) {}
	}
	m := &Mux{h: h, nets: make(map[protocol.ID]*Net), dropped: dropped}
	h.SetStreamHandlerMatch(ProtocolPrefix+"*", func(id protocol.ID) bool {
		return strings.HasPrefix(string(id), ProtocolPrefix) && len(id) > len(ProtocolPrefix)
	}, m.handle)
	return m
}

// Host is the libp2p host the mux serves.
func (m *Mux) Host() host.Host { return m.h }

// Close removes the handler. Clusters still listening hear nothing more.
func (m *Mux) Close() { m.h.RemoveStreamHandler(ProtocolPrefix + "*") }

func (m *Mux) handle(s network.Stream) {
	m.mu.Lock()
	n := m.nets[s.Protocol()]
	m.mu.Unlock()
	if n == nil {
		_ = s.Reset()
		m.dropped(s.Conn().RemotePeer(), DropUnknownCluster, fmt.Errorf("no cluster for %s", s.Protocol()))
		return
	}
	n.handle(s)
}

// Net is one cluster's endpoint on a host.
type Net struct {
	mux     *Mux
	proto   protocol.ID
	peers   map[peer.ID]bool
	cfg     NetConfig
	deliver func(from peer.ID, m Message)
	drop    func(from peer.ID, reason string, err error)
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Listen starts the cluster of request requestID on the mux: each message from one of peers
// (this host excluded) goes to deliver, on the stream's goroutine; anything else is dropped
// with a reason. A request has one cluster on a host at a time.
func (m *Mux) Listen(requestID string, peers []peer.ID, cfg NetConfig,
	deliver func(from peer.ID, m Message), drop func(from peer.ID, reason string, err error)) (*Net, error) {
	n := &Net{mux: m, proto: protocol.ID(ProtocolPrefix + requestID), peers: make(map[peer.ID]bool, len(peers)),
		cfg: cfg, deliver: deliver, drop: drop}
	for _, p := range peers {
		if p != m.h.ID() {
			n.peers[p] = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nets[n.proto] != nil {
		return nil, fmt.Errorf("listen %s: the request already has a cluster here", requestID)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	m.nets[n.proto] = n
	return n, nil
}

func (n *Net) handle(s network.Stream) {
	defer s.Close()
	from := s.Conn().RemotePeer()
	if !n.peers[from] {
		_ = s.Reset()
		n.drop(from, DropNotInCluster, nil)
		return
	}
	if n.silent() {
		_ = s.Reset()
		n.drop(from, DropSilenced, nil)
		return
	}
	_ = s.SetReadDeadline(time.Now().Add(n.cfg.SendTimeout))
	// Up to the first newline, which our senders write: waiting for EOF instead would wait for
	// the sender's close, which waits for this side's answer to its protocol header.
	b, err := p2p.ReadMessage(s, n.cfg.MaxMessage)
	switch {
	case errors.Is(err, p2p.ErrMessageTooLarge):
		_ = s.Reset()
		n.drop(from, DropTooLarge, err)
		return
	case err != nil:
		n.drop(from, DropMalformed, err)
		return
	}
	m, err := Decode(b)
	if err != nil {
		n.drop(from, DropMalformed, err)
		return
	}
	n.deliver(from, m)
}

func (n *Net) silent() bool { return n.cfg.Silent != nil && n.cfg.Silent() }

// Broadcast sends m to every other peer of the cluster, each on its own stream and goroutine;
// failures go to failed (nil: ignored). Sends still running when Close is called are cancelled.
func (n *Net) Broadcast(m Message, failed func(to peer.ID, err error)) {
	if n.silent() {
		return
	}
	b, err := Encode(m)
	if err != nil {
		if failed != nil {
			failed("", err)
		}
		return
	}
	b = append(b, '\n') // spec §1.3 allows it, and the receiver need not wait for EOF
	for p := range n.peers {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if err := n.send(p, b); err != nil && failed != nil && n.ctx.Err() == nil {
				failed(p, err)
			}
		}()
	}
}

// send writes b on a new stream to peer to. The protocol is selected lazily (the multistream
// header goes out with the message, as basichost does for a protocol the peerstore knows the
// peer speaks): a cluster's protocol is never in the peerstore, and waiting for the peer to
// confirm it would cost a round trip per message, three times per request. A peer that does
// not speak it refuses the stream after the message, which is then lost, as any lost message.
func (n *Net) send(to peer.ID, b []byte) error {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SendTimeout)
	defer cancel()
	h := n.mux.h
	if err := h.Connect(ctx, peer.AddrInfo{ID: to}); err != nil {
		return fmt.Errorf("connect to %s: %w", to, err)
	}
	s, err := h.Network().NewStream(network.WithNoDial(ctx, "connected"), to)
	if err != nil {
		return fmt.Errorf("open stream to %s: %w", to, err)
	}
	if err := s.SetProtocol(n.proto); err != nil {
		_ = s.Reset()
		return fmt.Errorf("open stream to %s: %w", to, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(deadline)
	}
	lazy := msmux.NewMSSelect(s, n.proto)
	if _, err := lazy.Write(b); err != nil {
		_ = s.Reset()
		return fmt.Errorf("send to %s: %w", to, err)
	}
	if err := lazy.Close(); err != nil && !errors.Is(err, network.ErrReset) {
		return fmt.Errorf("close stream to %s: %w", to, err)
	}
	return nil
}

// Close stops the cluster's endpoint: no more messages in, the sends in flight cancelled and
// waited for.
func (n *Net) Close() {
	n.mux.mu.Lock()
	if n.mux.nets[n.proto] == n {
		delete(n.mux.nets, n.proto)
	}
	n.mux.mu.Unlock()
	n.cancel()
	n.wg.Wait()
}

// MinReplicas is the smallest cluster (n = 3f+1 with f = 1; spec §6).
const MinReplicas = 4
