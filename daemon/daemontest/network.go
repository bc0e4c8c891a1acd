package daemontest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon"
	"github.com/b7s-actor/b7s/p2p"
)

// NetworkConfig shapes an in-process network.
type NetworkConfig struct {
	Workers int
	// Configure adjusts each node's configuration before it starts; index 0 is the head,
	// 1..Workers the workers.
	Configure func(index int, cfg *config.Config)
	// LogLevel of the nodes' logs, written through t.Log (default warn).
	LogLevel zerolog.Level
	// Backoff replaces how every node restarts failed actors; nil keeps the default.
	Backoff *actors.BackoffConfig
	// WrapRunner wraps worker index's executor (fault injection); nil keeps it.
	WrapRunner func(index int, r actors.FunctionRunner) actors.FunctionRunner
	// SpanProcessors receive every span of every node (tracing on; a tracetest.SpanRecorder).
	SpanProcessors []sdktrace.SpanProcessor
}

// Node is one running node of a test network.
type Node struct {
	*daemon.Daemon
	// Faults crashes the node's actors by their tree ID ("node/router").
	Faults *actortest.Faults
	// Links injects network faults between the node's actors and its host (see Network's
	// Partition, Drop, Delay, and Links.Hold for a test's own timing).
	Links *actortest.Links

	// pbftSilent silences the node's PBFT replicas while set (SilencePBFT).
	pbftSilent *atomic.Bool

	// What Restart needs to bring the same node back.
	key       crypto.PrivKey
	cfg       config.Config
	bootNodes []string
	index     int
}

// Network is one head and some workers, real nodes on 127.0.0.1, connected to the head as
// their boot node, with every topic's gossipsub peers in place.
type Network struct {
	t       testing.TB
	cfg     NetworkConfig
	Head    *Node
	Workers []*Node
}

// NewNetwork starts a network for t and stops it when the test ends.
func NewNetwork(t testing.TB, cfg NetworkConfig) *Network {
	t.Helper()
	if cfg.LogLevel == 0 {
		cfg.LogLevel = zerolog.WarnLevel
	}
	n := &Network{t: t, cfg: cfg}
	n.Head = n.start(n.NodeConfig(0), nil, nil, 0)
	for i := 1; i <= cfg.Workers; i++ {
		n.Workers = append(n.Workers, n.start(n.NodeConfig(i), nil, []string{n.Head.Host.Addresses()[0]}, i))
	}
	n.WaitMesh(n.Workers...)
	return n
}

// NodeConfig returns the configuration node index starts with: loopback only, a random port,
// its own workspace and database, no DHT discovery. The head serves its REST API, workers their
// metrics, and every node its debug address, each on a random port of 127.0.0.1.
func (n *Network) NodeConfig(index int) config.Config {
	c := config.Default()
	c.Role = string(actors.RoleWorker)
	if index == 0 {
		c.Role = string(actors.RoleHead)
		c.Head.RestAPI = "127.0.0.1:0"
	} else {
		c.Telemetry.Metrics.Enable = true
		c.Telemetry.Metrics.PrometheusAddress = "127.0.0.1:0"
	}
	c.DebugAddress = "127.0.0.1:0"
	c.Connectivity.Address = "127.0.0.1"
	c.Connectivity.Port = 0
	c.Connectivity.Discovery = false
	c.MemoryTarget = 0 // the memory limit is the process's, and this process runs many nodes
	dir := n.t.TempDir()
	c.Workspace = dir + "/workspace"
	c.DB = dir + "/db"
	if n.cfg.Configure != nil {
		n.cfg.Configure(index, &c)
	}
	return c
}

// StartNode starts a node from cfg with the given key (nil: a new one) and boot nodes, outside
// the head-and-workers layout (a restarted worker, a second head); the test stops it at the end.
// WrapRunner does not apply to it.
func (n *Network) StartNode(cfg config.Config, key crypto.PrivKey, bootNodes []string) *Node {
	n.t.Helper()
	return n.start(cfg, key, bootNodes, -1)
}

func (n *Network) start(cfg config.Config, key crypto.PrivKey, bootNodes []string, index int) *Node {
	n.t.Helper()
	if key == nil {
		var err error
		if key, err = p2p.GenerateKey(); err != nil {
			n.t.Fatal(err)
		}
	}
	cfg.BootNodes = bootNodes
	if err := cfg.Validate(); err != nil {
		n.t.Fatalf("node config: %v", err)
	}
	log := zerolog.New(zerolog.NewTestWriter(n.t)).Level(n.cfg.LogLevel).With().Timestamp().Logger()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	faults, links := actortest.NewFaults(), actortest.NewLinks()
	silent := &atomic.Bool{}
	opts := daemon.Options{Key: key, Log: log, Version: "test", Backoff: n.cfg.Backoff, PBFTSilent: silent.Load,
		Middleware: []actor.ReceiverMiddleware{faults.Middleware},
		WrapHost:   func(h actors.Host) actors.Host { return links.Wrap(h) }, SpanProcessors: n.cfg.SpanProcessors}
	if n.cfg.WrapRunner != nil && index > 0 {
		opts.WrapRunner = func(r actors.FunctionRunner) actors.FunctionRunner { return n.cfg.WrapRunner(index, r) }
	}
	d, err := daemon.Start(ctx, cfg, opts)
	if err != nil {
		n.t.Fatalf("start %s node: %v", cfg.Role, err)
	}
	n.t.Cleanup(d.Stop)
	n.t.Cleanup(links.Close) // before Stop: nothing delayed or held arrives at stopped actors
	// A restart comes back on the same ports, so peers and clients find it where it was.
	cfg.Connectivity.Port = listenPort(n.t, d)
	if addr := d.HTTPAddress(); addr != "" {
		if cfg.Head.RestAPI != "" {
			cfg.Head.RestAPI = addr
		} else {
			cfg.Telemetry.Metrics.PrometheusAddress = addr
		}
	}
	if addr := d.DebugAddress(); addr != "" {
		cfg.DebugAddress = addr
	}
	return &Node{Daemon: d, Faults: faults, Links: links, pbftSilent: silent, key: key, cfg: cfg, bootNodes: bootNodes, index: index}
}

// listenPort is the TCP port the node's libp2p host listens on.
func listenPort(t testing.TB, d *daemon.Daemon) uint {
	t.Helper()
	for _, a := range d.Host.Addresses() {
		m, err := multiaddr.NewMultiaddr(a)
		if err != nil {
			continue
		}
		if v, err := m.ValueForProtocol(multiaddr.P_TCP); err == nil {
			port, err := strconv.ParseUint(v, 10, 16)
			if err == nil {
				return uint(port)
			}
		}
	}
	t.Fatalf("no TCP address among %v", d.Host.Addresses())
	return 0
}

// WaitMesh waits until the head sees each worker as a peer on the default topic and each
// worker sees the head.
func (n *Network) WaitMesh(workers ...*Node) {
	n.t.Helper()
	onTopic := func(h *p2p.Host, want ...peer.ID) bool {
		peers, err := h.TopicPeers(p2p.DefaultTopic)
		if err != nil {
			return false
		}
		return containsAll(peers, want)
	}
	for _, w := range workers {
		ok := actortest.Eventually(20*time.Second, func() bool {
			return onTopic(n.Head.Host, w.Host.ID()) && onTopic(w.Host, n.Head.Host.ID())
		})
		if !ok {
			n.t.Fatalf("worker %s and the head never saw each other on %s", w.Host.ID(), p2p.DefaultTopic)
		}
	}
}

func containsAll(have, want []peer.ID) bool {
	set := make(map[peer.ID]bool, len(have))
	for _, p := range have {
		set[p] = true
	}
	for _, p := range want {
		if !set[p] {
			return false
		}
	}
	return true
}
