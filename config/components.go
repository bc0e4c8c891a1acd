package config

import (
	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/fstore"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// The components' configurations, each its DefaultConfig with what this Config sets on top.
// Loggers, metric registerers and transports are the caller's to add. Call them on a
// validated Config whose paths are resolved.

// Node is the actor tree's configuration; version is reported in b7s_node_info.
func (c Config) Node(version string) actors.Config {
	n := actors.DefaultConfig()
	n.Role = actors.Role(c.Role)
	n.Topics = c.Topics
	n.HealthInterval = c.HealthInterval
	n.Version = version
	n.RollCallTimeout = c.Head.RollCallTimeout
	n.ExecutionTimeout = c.Head.ExecutionTimeout
	n.SettleWindow = c.Head.SettleWindow
	n.ResultCacheSize = c.Head.ResultCacheSize
	n.Concurrency = int(c.Concurrency)
	n.QueueSize = c.Worker.QueueSize
	n.Installer.SyncInterval = c.FStore.SyncInterval
	n.Inspect.RecentMessages = c.RecentMessages
	n.Cluster.FormTimeout = c.Cluster.FormationTimeout
	n.Cluster.AbandonAfter = c.Cluster.AbandonAfter
	n.Cluster.Raft.HeartbeatTimeout = c.Cluster.RaftHeartbeatTimeout
	n.Cluster.Raft.ElectionTimeout = c.Cluster.RaftElectionTimeout
	n.Cluster.Raft.LeaderLeaseTimeout = c.Cluster.RaftLeaderLeaseTimeout
	n.Cluster.Raft.CommitTimeout = c.Cluster.RaftCommitTimeout
	n.Cluster.PBFTRequestTimeout = c.Cluster.PBFTRequestTimeout
	return n
}

// API is the HTTP side's configuration: the REST API's limits and the server's timeouts.
func (c Config) API() api.Config {
	a := api.DefaultConfig()
	a.MaxRequestTimeout = c.Head.MaxRequestTimeout
	return a
}

// Executor is a worker's WebAssembly runtime configuration.
func (c Config) Executor() executor.Config {
	e := executor.DefaultConfig()
	e.Workspace = c.Workspace
	e.MaxOutputBytes = c.Worker.MaxOutputBytes
	e.DefaultMemoryLimitPages = c.Worker.MemoryLimitPages
	e.MaxRunTime = c.Worker.MaxRunTime
	e.CompilationCacheDir = c.Worker.CompilationCache
	e.MaxFSBytes = c.Worker.MaxFSBytes
	e.MemoryBudget = c.Worker.MemoryLimitKB * 1000
	e.FSBudget = c.Worker.FSBudgetBytes
	return e
}

// Store is a worker's function store configuration.
func (c Config) Store() fstore.Config {
	s := fstore.DefaultConfig()
	s.Workspace = c.Workspace
	s.GatewayTemplate = c.FStore.Gateway
	return s
}

// Host is the libp2p host's configuration. Its direct-message limit is derived from the output
// limit, so that a result a worker may produce is one a node accepts (JSON escaping included).
// Heads use it too: give heads and workers of one network the same worker.max-output-bytes.
func (c Config) Host() p2p.Config {
	h := p2p.DefaultConfig()
	cc := c.Connectivity
	h.Address = cc.Address
	h.Port = cc.Port
	h.DisableQUIC = !cc.QUIC
	h.Websocket = cc.Websocket
	h.WebsocketPort = cc.WebsocketPort
	h.DialbackAddress = cc.DialbackAddress
	h.DialbackPort = cc.DialbackPort
	h.WebsocketDialbackPort = cc.WebsocketDialbackPort
	h.BootNodes = c.BootNodes
	h.MustReachBootNodes = cc.MustReachBootNodes
	h.NoDialbackPeers = cc.NoDialbackPeers
	h.Topics = c.Topics
	h.ConnectionCount = cc.ConnectionCount
	h.DisableConnectionLimits = cc.DisableConnectionLimits
	h.DisableDiscovery = !cc.Discovery
	h.LibP2PMetrics = c.Telemetry.Metrics.LibP2P
	h.MaxDirectMessageBytes = messages.DirectMessageLimit(c.Worker.MaxOutputBytes)
	return h
}

// Tracing is the node's OpenTelemetry tracing (spec §11).
func (c Config) Tracing() tracing.Config {
	t := tracing.DefaultConfig()
	tc := c.Telemetry.Tracing
	t.Enable = tc.Enable
	t.BatchTimeout = tc.ExporterBatchTimeout
	t.GRPCEndpoint = tc.GRPC.Endpoint
	t.HTTPEndpoint = tc.HTTP.Endpoint
	return t
}

// Attestation is where a worker's attestation comes from; the caller sets Self and Logger.
func (c Config) Attestation() attest.Config {
	a := attest.DefaultConfig()
	a.File = c.AttributesFile
	a.FromGateway = c.LoadAttributes
	a.GatewayTemplate = c.AttributesGateway
	a.Timeout = c.AttributesTimeout
	return a
}
