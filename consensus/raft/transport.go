package raft

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
)

// ProtocolID is the original b7s's Raft protocol (spec §5): one handler for the whole host, so
// an original node is in one cluster at a time. This node answers it for such peers only.
const ProtocolID protocol.ID = "/raft/1.0.0/rpc"

// clusterPrefix starts the protocol of one cluster: ProtocolID + "/" + request ID.
const clusterPrefix = ProtocolID + "/"

// ClusterProtocol is the protocol of the cluster of one request. Our nodes dial it first, so
// each cluster gets its own streams; an original node does not speak it and the dial falls
// back to ProtocolID.
func ClusterProtocol(requestID string) protocol.ID { return clusterPrefix + protocol.ID(requestID) }

// MaxRequestIDLength bounds a request ID that names a cluster (it is part of a protocol ID).
const MaxRequestIDLength = 128

// CheckRequestID says whether id can name a cluster: a protocol ID takes no whitespace or
// slash, and a UUID (what heads send) is 36 bytes.
func CheckRequestID(id string) error {
	switch {
	case id == "":
		return errors.New("empty request ID")
	case len(id) > MaxRequestIDLength:
		return fmt.Errorf("request ID of %d bytes is over %d", len(id), MaxRequestIDLength)
	case strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == '/' || r > '~' }):
		return fmt.Errorf("request ID %q has a character a protocol ID cannot carry", id)
	}
	return nil
}

// Parking bounds: a replica may dial a peer whose cluster is being created (its MsgFormCluster
// is a few milliseconds behind); the peer holds such a stream until the cluster exists rather
// than failing the RPC, which would cost an election timeout. Nobody else can make a node hold
// many streams or hold them long.
const (
	maxParked  = 64
	parkWindow = 2 * time.Second
)

// Mux routes inbound Raft streams of one host to the clusters (StreamLayers) it holds.
//
// Between our nodes every cluster has its own protocol (ClusterProtocol). An original node
// dials only ProtocolID; such a stream goes to the newest cluster that has the sender as a
// replica (an original node is in one cluster at a time, so there is one), and is reset when
// there is none.
type Mux struct {
	host host.Host

	mu      sync.Mutex
	layers  map[string]*StreamLayer // by request ID
	seq     uint64                  // creation order of layers
	parked  map[string][]parkedStream
	nParked int
	closed  bool
}

type parkedStream struct{ s network.Stream }

// NewMux installs the Raft stream handlers on h. Close removes them.
func NewMux(h host.Host) *Mux {
	m := &Mux{host: h, layers: make(map[string]*StreamLayer), parked: make(map[string][]parkedStream)}
	h.SetStreamHandler(ProtocolID, m.handleShared)
	h.SetStreamHandlerMatch(clusterPrefix+"*", func(id protocol.ID) bool {
		return strings.HasPrefix(string(id), string(clusterPrefix)) && len(id) > len(clusterPrefix)
	}, m.handleCluster)
	return m
}

// Host is the libp2p host the mux serves.
func (m *Mux) Host() host.Host { return m.host }

// AddAddrs adds the addresses of peers this host is not connected to, for ttl (spec §4.6: the
// head's connection_info, so replicas can reach each other).
func (m *Mux) AddAddrs(infos []peer.AddrInfo, ttl time.Duration) {
	for _, info := range infos {
		if info.ID == m.host.ID() || m.host.Network().Connectedness(info.ID) == network.Connected {
			continue
		}
		m.host.Peerstore().AddAddrs(info.ID, info.Addrs, ttl)
	}
}

// Close removes the handlers and resets every parked stream. Layers close on their own.
func (m *Mux) Close() {
	m.host.RemoveStreamHandler(ProtocolID)
	m.host.RemoveStreamHandler(clusterPrefix + "*")
	m.mu.Lock()
	m.closed = true
	parked := m.parked
	m.parked, m.nParked = map[string][]parkedStream{}, 0
	m.mu.Unlock()
	for _, list := range parked {
		for _, p := range list {
			_ = p.s.Reset()
		}
	}
}

// Listen registers the cluster of requestID with its replicas and returns its stream layer.
// Streams that were parked for it are handed over.
func (m *Mux) Listen(requestID string, peers []peer.ID) (*StreamLayer, error) {
	if err := CheckRequestID(requestID); err != nil {
		return nil, err
	}
	l := &StreamLayer{
		mux: m, requestID: requestID, proto: ClusterProtocol(requestID),
		peers: make(map[peer.ID]bool, len(peers)), accept: make(chan net.Conn),
		closed: make(chan struct{}), conns: make(map[*streamConn]struct{}),
	}
	for _, p := range peers {
		l.peers[p] = true
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errors.New("raft transport closed")
	}
	if _, dup := m.layers[requestID]; dup {
		m.mu.Unlock()
		return nil, fmt.Errorf("a cluster for request %s exists", requestID)
	}
	m.seq++
	l.seq = m.seq
	m.layers[requestID] = l
	waiting := m.parked[requestID]
	delete(m.parked, requestID)
	m.nParked -= len(waiting)
	m.mu.Unlock()
	for _, p := range waiting {
		go l.take(p.s)
	}
	return l, nil
}

func (m *Mux) remove(l *StreamLayer) {
	m.mu.Lock()
	if m.layers[l.requestID] == l {
		delete(m.layers, l.requestID)
	}
	m.mu.Unlock()
}

// handleCluster takes a stream of ClusterProtocol: to its cluster, or parked for a while if
// the cluster does not exist yet.
func (m *Mux) handleCluster(s network.Stream) {
	id := strings.TrimPrefix(string(s.Protocol()), string(clusterPrefix))
	m.mu.Lock()
	l, ok := m.layers[id]
	if ok {
		m.mu.Unlock()
		l.take(s)
		return
	}
	if m.closed || m.nParked >= maxParked || CheckRequestID(id) != nil {
		m.mu.Unlock()
		_ = s.Reset()
		return
	}
	m.parked[id] = append(m.parked[id], parkedStream{s: s})
	m.nParked++
	m.mu.Unlock()
	// The stream is kept only if its cluster appears in time; one timer per stream checks.
	time.AfterFunc(parkWindow, func() { m.unpark(id, s) })
}

// unpark resets s if it is still parked (its cluster never appeared).
func (m *Mux) unpark(id string, s network.Stream) {
	m.mu.Lock()
	list := m.parked[id]
	for i, p := range list {
		if p.s == s {
			m.parked[id] = append(list[:i:i], list[i+1:]...)
			if len(m.parked[id]) == 0 {
				delete(m.parked, id)
			}
			m.nParked--
			m.mu.Unlock()
			_ = s.Reset()
			return
		}
	}
	m.mu.Unlock()
}

// handleShared takes a stream of ProtocolID, which only original nodes dial.
func (m *Mux) handleShared(s network.Stream) {
	from := s.Conn().RemotePeer()
	m.mu.Lock()
	var newest *StreamLayer
	for _, l := range m.layers {
		if l.peers[from] && (newest == nil || l.seq > newest.seq) {
			newest = l
		}
	}
	m.mu.Unlock()
	if newest == nil {
		_ = s.Reset()
		return
	}
	newest.take(s)
}

// StreamLayer is one cluster's hraft.StreamLayer: it accepts the cluster's inbound streams and
// dials its peers. Close resets every stream it made or accepted, so nothing of a disbanded
// cluster stays open.
type StreamLayer struct {
	mux       *Mux
	requestID string
	proto     protocol.ID
	peers     map[peer.ID]bool
	seq       uint64
	accept    chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once

	mu    sync.Mutex
	conns map[*streamConn]struct{}
}

var _ hraft.StreamLayer = (*StreamLayer)(nil)

// ErrLayerClosed is returned by Accept and Dial after Close.
var ErrLayerClosed = errors.New("raft stream layer closed")

// take hands an inbound stream to Accept, if it comes from one of the cluster's replicas.
func (l *StreamLayer) take(s network.Stream) {
	if !l.peers[s.Conn().RemotePeer()] {
		_ = s.Reset()
		return
	}
	c := l.track(s)
	if c == nil {
		return
	}
	select {
	case l.accept <- c:
	case <-l.closed:
		_ = c.Close()
	}
}

// track records a stream's conn so that Close can reset it; nil when already closed.
func (l *StreamLayer) track(s network.Stream) *streamConn {
	c := &streamConn{Stream: s, layer: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conns == nil {
		_ = s.Reset()
		return nil
	}
	l.conns[c] = struct{}{}
	return c
}

func (l *StreamLayer) untrack(c *streamConn) {
	l.mu.Lock()
	if l.conns != nil {
		delete(l.conns, c)
	}
	l.mu.Unlock()
}

// Accept implements net.Listener.
func (l *StreamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.closed:
		return nil, ErrLayerClosed
	}
}

// Close implements net.Listener: the cluster stops taking streams and every open one is reset.
func (l *StreamLayer) Close() error {
	l.closeOnce.Do(func() {
		close(l.closed)
		l.mux.remove(l)
		l.mu.Lock()
		conns := l.conns
		l.conns = nil
		l.mu.Unlock()
		for c := range conns {
			_ = c.Stream.Reset()
		}
	})
	return nil
}

// Addr implements net.Listener: this host's peer ID.
func (l *StreamLayer) Addr() net.Addr { return addr(l.mux.host.ID()) }

// Dial implements hraft.StreamLayer: address is a base58 peer ID (ServerID and ServerAddress
// are the same string here). The cluster's own protocol is tried first, ProtocolID when the
// peer does not speak it (an original node).
func (l *StreamLayer) Dial(address hraft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, ErrLayerClosed
	default:
	}
	to, err := peer.Decode(string(address))
	if err != nil {
		return nil, fmt.Errorf("raft address %q: %w", address, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// One protocol per attempt: offered both, libp2p would pick the one identify says the
	// peer speaks, which for our nodes is ProtocolID (the cluster's own is matched, not listed).
	s, err := l.mux.host.NewStream(ctx, to, l.proto)
	if errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}) {
		s, err = l.mux.host.NewStream(ctx, to, ProtocolID) // an original node
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s for cluster %s: %w", to, l.requestID, err)
	}
	c := l.track(s)
	if c == nil {
		return nil, ErrLayerClosed
	}
	return c, nil
}

// streamConn is a libp2p stream as a net.Conn, with no framing of its own (as go-libp2p-gostream,
// which the original uses): the bytes are NetworkTransport's.
type streamConn struct {
	network.Stream
	layer *StreamLayer
}

func (c *streamConn) Close() error {
	c.layer.untrack(c)
	return c.Stream.Close()
}

func (c *streamConn) LocalAddr() net.Addr  { return addr(c.Stream.Conn().LocalPeer()) }
func (c *streamConn) RemoteAddr() net.Addr { return addr(c.Stream.Conn().RemotePeer()) }

// addr is a peer as a net.Addr.
type addr peer.ID

func (a addr) Network() string { return "libp2p" }
func (a addr) String() string  { return peer.ID(a).String() }

// addressProvider maps a ServerID to the ServerAddress to dial: the same peer ID. An original
// node's bootstrap configuration holds raw peer-ID bytes as addresses (quirk Q10), so the
// configuration's address is never used.
type addressProvider struct{}

func (addressProvider) ServerAddr(id hraft.ServerID) (hraft.ServerAddress, error) {
	return hraft.ServerAddress(id), nil
}
