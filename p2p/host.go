package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ws "github.com/libp2p/go-libp2p/p2p/transport/websocket"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"
)

// ErrClosed is returned by operations on a closed Host.
var ErrClosed = errors.New("p2p host closed")

// Host is a libp2p host with the b7s topics, direct messages, boot nodes,
// dial-back peers and discovery. It is safe for concurrent use.
type Host struct {
	cfg       Config
	log       zerolog.Logger
	host      host.Host
	pubsub    *pubsub.PubSub
	db        *bbolt.DB
	metrics   *metrics
	bootNodes []peer.AddrInfo

	// ctx lives until Close; every background goroutine watches it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	events event.Subscription // peer store events; nil without a db

	mu      sync.Mutex // guards started, closed, dht and the wg.Add calls
	started bool
	closed  bool
	dht     *dht.IpfsDHT

	topicsMu sync.Mutex
	topics   map[string]*joinedTopic
	// topicUses counts topic acquisitions: the clock of the publish-only topics' eviction.
	topicUses uint64

	directMu sync.RWMutex
	// readChunks holds the 2 KiB buffers inbound direct messages are read through.
	readChunks sync.Pool
	onDirect   func(from peer.ID, data []byte)
	onError    func(from peer.ID, err error)
}

// New creates the libp2p host, listening on the configured addresses, and
// the gossipsub router. db may be nil: then no peer is saved or dialled back.
// Nothing is dialled before Start.
func New(key crypto.PrivKey, db *bbolt.DB, cfg Config) (*Host, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bootNodes := make([]peer.AddrInfo, 0, len(cfg.BootNodes))
	for _, addr := range cfg.BootNodes {
		info, err := parseBootNode(addr)
		if err != nil {
			return nil, err
		}
		bootNodes = append(bootNodes, info)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	if db != nil {
		if err := ensurePeerBucket(db); err != nil {
			return nil, err
		}
	}

	opts, err := libp2pOptions(key, cfg)
	if err != nil {
		return nil, err
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("create libp2p host: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	h := &Host{
		cfg:        cfg,
		readChunks: sync.Pool{New: func() any { b := make([]byte, 2<<10); return &b }},
		log:        cfg.Logger.With().Str("component", "p2p").Str("peer_id", lh.ID().String()).Logger(),
		host:       lh,
		db:         db,
		metrics:    m,
		bootNodes:  bootNodes,
		ctx:        ctx,
		cancel:     cancel,
		topics:     make(map[string]*joinedTopic),
	}
	fail := func(err error) (*Host, error) {
		cancel()
		if h.events != nil {
			h.events.Close()
		}
		h.wg.Wait()
		return nil, errors.Join(err, lh.Close())
	}

	for _, b := range bootNodes {
		lh.ConnManager().Protect(b.ID, bootNodeTag)
	}
	if db != nil {
		if err := h.startPeerRecorder(); err != nil {
			return fail(err)
		}
	}
	// b7s passes no options and relies on the defaults of pubsub v0.12:
	// StrictSign, message ID = from+seqno, 1 MiB max, and flood publishing.
	// v0.19 no longer flood-publishes by default; without it a message
	// published before the first heartbeat has built the mesh reaches nobody
	// (a roll call right after connecting, a publish to a topic we have not
	// subscribed to), so it is switched back on.
	//
	// The queues default to 32 messages; a head publishing a burst of roll calls (a hundred
	// concurrent requests) overflows them and gossipsub silently drops the rest, so each is
	// sized for bursts instead.
	//
	// Seen message IDs are kept 10 s instead of 2 min: every roll call is a new message, so
	// the set grows with the request rate, and gossip re-announces a message for 5 s at most.
	// gossipsub sweeps expired IDs once a minute (a constant of its own), so an ID stays
	// TTL + up to 60 s: at 1,250 roll calls a second a 30 s TTL kept 9.6 MiB, half a head's
	// live heap; 10 s keeps 5.9 MiB.
	ps, err := pubsub.NewGossipSub(ctx, lh,
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerOutboundQueueSize(pubsubQueueSize),
		pubsub.WithValidateQueueSize(pubsubQueueSize),
		pubsub.WithSeenMessagesTTL(seenMessagesTTL),
	)
	if err != nil {
		return fail(fmt.Errorf("create gossipsub: %w", err))
	}
	h.pubsub = ps

	h.log.Debug().Strs("addresses", h.Addresses()).Msg("host listening")
	return h, nil
}

// libp2pOptions spells out every capability the host has, so that nothing
// that contacts third parties (relays, NAT port mapping, hole punching) is on.
func libp2pOptions(key crypto.PrivKey, cfg Config) ([]libp2p.Option, error) {
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(cfg.listenAddrs()...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Muxer(yamux.ID, coalescingMuxer{yamux.DefaultTransport}),
		libp2p.DisableRelay(),
		libp2p.WithDialTimeout(cfg.DialTimeout),
	}
	if cfg.Websocket {
		opts = append(opts, libp2p.Transport(ws.New))
	}

	low, high := 160, 192
	if cfg.ConnectionCount > 0 {
		low, high = int(cfg.ConnectionCount), int(float64(cfg.ConnectionCount)*1.2)
	}
	cm, err := connmgr.NewConnManager(low, high)
	if err != nil {
		return nil, fmt.Errorf("connection manager (%d/%d): %w", low, high, err)
	}
	opts = append(opts, libp2p.ConnectionManager(cm))

	limits := rcmgr.InfiniteLimits
	if !cfg.DisableConnectionLimits {
		limits = directProtocolLimits(cfg.MaxDirectMessageBytes)
	}
	var rmOpts []rcmgr.Option
	if !cfg.LibP2PMetrics {
		// Its stats reporter formats a timestamp for every stream event and registers on the
		// global Prometheus registry: about a tenth of the node's CPU, for metrics nobody asked for.
		rmOpts = append(rmOpts, rcmgr.WithMetricsDisabled())
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits), rmOpts...)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	opts = append(opts, libp2p.ResourceManager(rm))

	if cfg.Registerer != nil && cfg.LibP2PMetrics {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Registerer))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}

	external, err := cfg.dialbackAddrs()
	if err != nil {
		return nil, err
	}
	if external != nil {
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr { return external }))
	}
	return opts, nil
}

// ID is the host's peer ID.
func (h *Host) ID() peer.ID { return h.host.ID() }

// Addresses returns the announced addresses with /p2p/<id>.
func (h *Host) Addresses() []string {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.host.ID(), Addrs: h.host.Addrs()})
	if err != nil {
		return nil
	}
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// Topics returns DefaultTopic followed by the configured topics.
func (h *Host) Topics() []string { return h.cfg.topicList() }

// Connected reports whether there is a live connection to p.
func (h *Host) Connected(p peer.ID) bool {
	return h.host.Network().Connectedness(p) == network.Connected
}

// Peers returns the connected peers.
func (h *Host) Peers() []peer.ID { return h.host.Network().Peers() }

// AddAddrs records addresses for a peer so that Send can dial it.
func (h *Host) AddAddrs(info peer.AddrInfo, ttl time.Duration) {
	h.host.Peerstore().AddAddrs(info.ID, info.Addrs, ttl)
}

// AddrInfo is what the peerstore knows of p: its addresses, empty when none.
func (h *Host) AddrInfo(p peer.ID) peer.AddrInfo { return h.host.Peerstore().PeerInfo(p) }

// LibP2P exposes the underlying host (for the consensus stream layers).
func (h *Host) LibP2P() host.Host { return h.host }

// Start connects to the boot nodes (in parallel), then to the saved dial-back
// peers, then starts the DHT discovery of every topic and the boot-node
// re-check loop. ctx bounds the startup dials only; the background loops run
// until Close. It fails when MustReachBootNodes is set and a boot node could
// not be reached.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return ErrClosed
	case h.started:
		h.mu.Unlock()
		return errors.New("p2p host already started")
	}
	h.started = true
	h.mu.Unlock()

	// Close cuts the startup dials short too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel)
	defer stop()

	if err := h.connectBootNodes(ctx); err != nil && h.cfg.MustReachBootNodes {
		return err
	}
	if !h.cfg.NoDialbackPeers && h.db != nil {
		h.connectDialbackPeers(ctx)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if !h.cfg.DisableDiscovery {
		if err := h.startDiscovery(); err != nil {
			return err
		}
	}
	if len(h.bootNodes) > 0 {
		h.goBackground(h.recheckBootNodes)
	}
	return nil
}

// goBackground runs fn until Close. Call with h.mu held.
func (h *Host) goBackground(fn func()) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		fn()
	}()
}

// Close stops the background goroutines, the DHT and the libp2p host. It is
// safe to call more than once.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()

	h.cancel()
	if h.events != nil {
		h.events.Close()
	}
	h.wg.Wait()

	var errs []error
	if h.dht != nil {
		if err := h.dht.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close dht: %w", err))
		}
	}
	if err := h.host.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close libp2p host: %w", err))
	}
	return errors.Join(errs...)
}

// directProtocolLimits are libp2p's default, auto-scaled limits, except for the direct protocol.
// b7s sends every direct message on a stream of its own, so a busy head has one inbound stream
// per worker per request in flight; the default of 64 streams per protocol per peer resets the
// rest, and results are lost. Streams of this protocol live for one message, so a higher bound
// costs little. A stream buffers one whole message (up to maxMessage) and reserves it at medium
// priority, which libp2p grants only while a scope stays under 60% of its limit: so each scope's
// memory limit is at least twice what it must hold (one message per stream, a few per peer, many
// for the protocol), and a message the limit allows is never refused for memory alone.
func directProtocolLimits(maxMessage int) rcmgr.ConcreteLimitConfig {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	// The same holds for a peer's streams across protocols (256 by default).
	scaling.PeerBaseLimit.StreamsInbound = max(scaling.PeerBaseLimit.StreamsInbound, 2048)
	scaling.PeerBaseLimit.StreamsOutbound = max(scaling.PeerBaseLimit.StreamsOutbound, 2048)
	scaling.PeerBaseLimit.Streams = max(scaling.PeerBaseLimit.Streams, 4096)
	msg := int64(maxMessage)
	scaling.StreamBaseLimit.Memory = max(scaling.StreamBaseLimit.Memory, 2*msg)
	scaling.PeerBaseLimit.Memory = max(scaling.PeerBaseLimit.Memory, 8*msg)
	scaling.AddProtocolLimit(ProtocolID,
		rcmgr.BaseLimit{StreamsInbound: 8192, StreamsOutbound: 8192, Streams: 16384, Memory: max(256<<20, 32*msg)},
		rcmgr.BaseLimitIncrease{})
	scaling.AddProtocolPeerLimit(ProtocolID,
		rcmgr.BaseLimit{StreamsInbound: 2048, StreamsOutbound: 2048, Streams: 4096, Memory: max(64<<20, 8*msg)},
		rcmgr.BaseLimitIncrease{})
	return scaling.AutoScale()
}
