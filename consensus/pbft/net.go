package pbft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
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
	DropNotInCluster = "not_in_cluster"
	DropMalformed    = "malformed"
	DropTooLarge     = "too_large"
	DropSilenced     = "silenced"
)

// Net is one cluster's endpoint on a host.
type Net struct {
	h      host.Host
	proto  protocol.ID
	peers  map[peer.ID]bool
	cfg    NetConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Listen installs the cluster's handler: each message from one of peers (this host excluded)
// goes to deliver, on the stream's goroutine; anything else is dropped with a reason.
func Listen(h host.Host, requestID string, peers []peer.ID, cfg NetConfig,
	deliver func(from peer.ID, m Message), drop func(from peer.ID, reason string, err error)) *Net {
	n := &Net{h: h, proto: protocol.ID(ProtocolPrefix + requestID), peers: make(map[peer.ID]bool, len(peers)), cfg: cfg}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for _, p := range peers {
		if p != h.ID() {
			n.peers[p] = true
		}
	}
	h.SetStreamHandler(n.proto, func(s network.Stream) {
		defer s.Close()
		from := s.Conn().RemotePeer()
		if !n.peers[from] {
			_ = s.Reset()
			drop(from, DropNotInCluster, nil)
			return
		}
		if n.silent() {
			_ = s.Reset()
			drop(from, DropSilenced, nil)
			return
		}
		_ = s.SetReadDeadline(time.Now().Add(cfg.SendTimeout))
		b, err := io.ReadAll(io.LimitReader(s, int64(cfg.MaxMessage)+1))
		switch {
		case err != nil:
			drop(from, DropMalformed, err)
			return
		case len(b) > cfg.MaxMessage:
			_ = s.Reset()
			drop(from, DropTooLarge, fmt.Errorf("more than %d bytes", cfg.MaxMessage))
			return
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[:i] // spec §1.3: only the first line counts
		}
		m, err := Decode(b)
		if err != nil {
			drop(from, DropMalformed, err)
			return
		}
		deliver(from, m)
	})
	return n
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

func (n *Net) send(to peer.ID, b []byte) error {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.SendTimeout)
	defer cancel()
	s, err := n.h.NewStream(ctx, to, n.proto)
	if err != nil {
		return fmt.Errorf("open stream to %s: %w", to, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetWriteDeadline(deadline)
	}
	if _, err := s.Write(b); err != nil {
		_ = s.Reset()
		return fmt.Errorf("send to %s: %w", to, err)
	}
	if err := s.Close(); err != nil && !errors.Is(err, network.ErrReset) {
		return fmt.Errorf("close stream to %s: %w", to, err)
	}
	return nil
}

// Close removes the handler, cancels the sends in flight and waits for them.
func (n *Net) Close() {
	n.h.RemoveStreamHandler(n.proto)
	n.cancel()
	n.wg.Wait()
}

// MinReplicas is the smallest cluster (n = 3f+1 with f = 1; spec §6).
const MinReplicas = 4
