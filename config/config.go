package config

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/fstore"
	"github.com/b7s-actor/b7s/internal/memlimit"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/p2p"
)

// Log formats accepted by `log.format`. Auto is JSON lines when stderr is not a terminal (a
// service manager, a container, a pipe) and the console format when it is.
const (
	LogFormatAuto    = "auto"
	LogFormatConsole = "console"
	LogFormatJSON    = "json"
)

// DefaultDrainTimeout covers a request started just before the signal under the default
// deadlines (a 5 s roll call and 20 s of execution) and stays below the 30 s that Kubernetes
// and most service managers allow a stopping process before they kill it.
const DefaultDrainTimeout = 25 * time.Second

// Config is the node's whole configuration. The tree mirrors the YAML file of
// spec §10; every yaml tag is the YAML key. Durations are Go duration strings
// in YAML and in the environment ("1s", "250ms").
type Config struct {
	// Role is actors.RoleHead or actors.RoleWorker.
	Role string `yaml:"role"`
	// Concurrency is how many executions a worker runs at once.
	Concurrency uint `yaml:"concurrency"`
	// BootNodes are multiaddrs ending in /p2p/<peerID>.
	BootNodes []string `yaml:"boot-nodes"`
	// Workspace is the function store root; empty means <nodeDir>/workspace
	// (see ResolvePaths). ResolvePaths makes it absolute.
	Workspace string `yaml:"workspace"`
	// LoadAttributes fetches a worker's attestation at start from the IPNS record of its own
	// key, through AttributesGateway (the original's --load-attributes).
	LoadAttributes bool `yaml:"load-attributes"`
	// AttributesFile is the path of a worker's attestation in the original b7s-attributes
	// format; reloaded on SIGHUP and on each fstore.sync-interval when it changed.
	AttributesFile string `yaml:"attributes-file"`
	// AttributesGateway is the URL template LoadAttributes fetches; "{name}" becomes the
	// node's IPNS name (k51…).
	AttributesGateway string `yaml:"attributes-gateway"`
	// AttributesTimeout bounds one load of the attestation; start waits no longer.
	AttributesTimeout time.Duration `yaml:"attributes-timeout"`
	// Topics are joined in addition to the default topic, which is always joined.
	Topics []string `yaml:"topics"`
	// DB is the persistent store path; empty means <nodeDir>/db (see ResolvePaths).
	DB string `yaml:"db"`
	// HealthInterval is the period of the health ping on the default topic.
	HealthInterval time.Duration `yaml:"health-interval"`
	// DebugAddress is the host:port of the operator's HTTP server: /debug/actors (which names
	// live requests), Go's profiler at /debug/pprof/ and /metrics. Empty serves none of it.
	// Keep it on a loopback or private address: it is not for the public.
	DebugAddress string `yaml:"debug-address"`
	// DrainTimeout bounds a graceful stop: on SIGTERM or SIGINT the node stops taking work and
	// waits this long for what it holds to finish before it stops anyway. 0 stops at once.
	DrainTimeout time.Duration `yaml:"drain-timeout"`
	// MemoryTarget (MiB) is the Go memory the node aims to hold, beyond what running functions
	// hold on the heap: the process's soft memory limit is set to their sum (package memlimit).
	// 0 leaves the Go runtime's defaults; a GOMEMLIMIT in the environment wins.
	MemoryTarget uint `yaml:"memory-target"`
	// RecentMessages is the length of each actor's ring of recently handled messages, which
	// /debug/actors/ui and `b7s trace` read; 0 keeps none.
	RecentMessages int `yaml:"recent-messages"`

	Log          Log          `yaml:"log"`
	Connectivity Connectivity `yaml:"connectivity"`
	Head         Head         `yaml:"head"`
	Worker       Worker       `yaml:"worker"`
	FStore       FStore       `yaml:"fstore"`
	Cluster      Cluster      `yaml:"cluster"`
	Telemetry    Telemetry    `yaml:"telemetry"`
}

// Cluster configures consensus clusters (Raft), on heads and workers.
type Cluster struct {
	// FormationTimeout: how long a head waits for its workers to form a cluster, and a worker
	// for its cluster to find a leader.
	FormationTimeout time.Duration `yaml:"formation-timeout"`
	// AbandonAfter: a worker drops a cluster whose head sent nothing more for this long after
	// it formed, or after the request it sent ran out of time.
	AbandonAfter time.Duration `yaml:"abandon-after"`
	// The Raft timeouts (hashicorp/raft's settings of the same names).
	RaftHeartbeatTimeout   time.Duration `yaml:"raft-heartbeat-timeout"`
	RaftElectionTimeout    time.Duration `yaml:"raft-election-timeout"`
	RaftLeaderLeaseTimeout time.Duration `yaml:"raft-leader-lease-timeout"`
	RaftCommitTimeout      time.Duration `yaml:"raft-commit-timeout"`
	// PBFTRequestTimeout: a PBFT replica that has not executed a request this long starts a
	// view change.
	PBFTRequestTimeout time.Duration `yaml:"pbft-request-timeout"`
}

// Log configures the node's zerolog logger.
type Log struct {
	// Level is a zerolog level name: trace, debug, info, warn, error, fatal,
	// panic or disabled.
	Level string `yaml:"level"`
	// Format is LogFormatAuto, LogFormatConsole or LogFormatJSON.
	Format string `yaml:"format"`
}

// ZerologLevel returns Level parsed; call it on a validated Config only
// (an invalid level yields zerolog.InfoLevel).
func (l Log) ZerologLevel() zerolog.Level {
	lvl, err := parseLogLevel(l.Level)
	if err != nil {
		return zerolog.InfoLevel
	}
	return lvl
}

// Connectivity configures the libp2p host.
type Connectivity struct {
	Address string `yaml:"address"`
	// Port is the TCP (and QUIC, when enabled) listen port; 0 picks a free one.
	Port uint `yaml:"port"`
	// PrivateKey is the path of a libp2p key file; empty means a random identity.
	PrivateKey              string `yaml:"private-key"`
	DialbackAddress         string `yaml:"dialback-address"`
	DialbackPort            uint   `yaml:"dialback-port"`
	Websocket               bool   `yaml:"websocket"`
	WebsocketPort           uint   `yaml:"websocket-port"`
	WebsocketDialbackPort   uint   `yaml:"websocket-dialback-port"`
	NoDialbackPeers         bool   `yaml:"no-dialback-peers"`
	MustReachBootNodes      bool   `yaml:"must-reach-boot-nodes"`
	DisableConnectionLimits bool   `yaml:"disable-connection-limits"`
	// ConnectionCount is the connection manager's target; 0 keeps libp2p's default.
	ConnectionCount uint `yaml:"connection-count"`
	// QUIC listens on QUIC (udp, same port) in addition to TCP.
	QUIC bool `yaml:"quic"`
	// Discovery enables DHT peer discovery on the node's topics.
	Discovery bool `yaml:"discovery"`
}

// Head configures head-only behaviour.
type Head struct {
	// RestAPI is the host:port of the REST API. A head without it is valid:
	// it runs without a REST API and takes work only over libp2p
	// (MsgExecute direct messages).
	RestAPI string `yaml:"rest-api"`
	// RollCallTimeout bounds the wait for roll-call responses.
	RollCallTimeout time.Duration `yaml:"rollcall-timeout"`
	// ExecutionTimeout bounds the wait for execution results.
	ExecutionTimeout time.Duration `yaml:"execution-timeout"`
	// SettleWindow is how long to keep collecting results after the first
	// quorum is reached; at most ExecutionTimeout.
	SettleWindow time.Duration `yaml:"settle-window"`
	// ResultCacheSize is how many finished request results are kept for
	// GET /api/v1/functions/requests/result.
	ResultCacheSize int `yaml:"result-cache-size"`
	// MaxRequestTimeout is the largest config.timeout the REST API accepts; a larger one is
	// refused with 400.
	MaxRequestTimeout time.Duration `yaml:"max-request-timeout"`
}

// Worker configures worker-only behaviour.
type Worker struct {
	// RuntimePath and RuntimeCLI are accepted for compatibility with the
	// original node's configuration and otherwise ignored: the runtime is embedded.
	RuntimePath string `yaml:"runtime-path"`
	RuntimeCLI  string `yaml:"runtime-cli"`
	// CPUPercentageLimit is a fraction in 0…1; 0 means no limit.
	CPUPercentageLimit float64 `yaml:"cpu-percentage-limit"`
	// MemoryLimitKB is the guest memory (kB, 1000 bytes as in the original) a worker's running
	// functions may reserve together, each its memory limit (the original's cgroup limit for
	// all functions). 0: derived from the machine (executor.Config.MemoryBudget).
	MemoryLimitKB int64 `yaml:"memory-limit"`
	// QueueSize is how many executions may wait beyond Concurrency; more are rejected.
	QueueSize int `yaml:"queue-size"`
	// MaxOutputBytes caps each of stdout and stderr of one execution.
	MaxOutputBytes int `yaml:"max-output-bytes"`
	// MemoryLimitPages is the default guest memory cap in 64 KiB pages.
	MemoryLimitPages uint32 `yaml:"memory-limit-pages"`
	// MaxRunTime bounds one execution's wall-clock time.
	MaxRunTime time.Duration `yaml:"max-run-time"`
	// MaxFSBytes is each execution's disk quota (executor.Config.MaxFSBytes).
	MaxFSBytes int64 `yaml:"max-fs-bytes"`
	// FSBudgetBytes is the disk a worker's running functions may reserve together; 0: derived
	// from the workspace's free space (executor.Config.FSBudget).
	FSBudgetBytes int64 `yaml:"fs-budget-bytes"`
	// CompilationCache is the directory of compiled functions kept across restarts (and shared
	// by nodes that name the same one); empty means <workspace>/.cache/wazero, "-" none.
	CompilationCache string `yaml:"compilation-cache"`
}

// FStore configures the function store.
type FStore struct {
	// Gateway is the manifest URL template; "{cid}" is replaced by the function CID.
	Gateway string `yaml:"gateway"`
	// SyncInterval is the period of the installed-functions integrity check.
	SyncInterval time.Duration `yaml:"sync-interval"`
}

// Telemetry configures tracing and metrics.
type Telemetry struct {
	Tracing Tracing `yaml:"tracing"`
	Metrics Metrics `yaml:"metrics"`
}

// Tracing configures the OpenTelemetry exporters.
type Tracing struct {
	// Enable turns tracing on; without an endpoint spans are made and dropped.
	Enable bool `yaml:"enable"`
	// ExporterBatchTimeout is the longest a span waits before it is exported; 0 exports each
	// span as it ends, synchronously (spec Q26: the original's default).
	ExporterBatchTimeout time.Duration   `yaml:"exporter-batch-timeout"`
	GRPC                 TracingEndpoint `yaml:"grpc"`
	HTTP                 TracingEndpoint `yaml:"http"`
}

// TracingEndpoint is one exporter's host:port.
type TracingEndpoint struct {
	Endpoint string `yaml:"endpoint"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	Enable bool `yaml:"enable"`
	// PrometheusAddress is the host:port serving /metrics. When empty and
	// metrics are on, a head serves /metrics on Head.RestAPI; a worker, or a
	// head without a REST API, must set it (Validate reports it).
	PrometheusAddress string `yaml:"prometheus-address"`
	// LibP2P adds go-libp2p's own libp2p_* metrics. They cost about a tenth of the node's
	// CPU per message (the resource manager traces every stream), so they are opt-in.
	LibP2P bool `yaml:"libp2p"`
}

// Default returns the configuration used when no source sets a value. Every default of a
// component's setting comes from that component's DefaultConfig (TestDefault_ComesFromComponents
// keeps it so); only the log, drain and debug-address settings are config's own. Workspace and DB are left empty for
// ResolvePaths.
func Default() Config {
	node, exec, store, host := actors.DefaultConfig(), executor.DefaultConfig(), fstore.DefaultConfig(), p2p.DefaultConfig()
	att, rest, trace := attest.DefaultConfig(), api.DefaultConfig(), tracing.DefaultConfig()
	return Config{
		Role:              string(node.Role),
		Concurrency:       uint(node.Concurrency),
		HealthInterval:    node.HealthInterval,
		MemoryTarget:      memlimit.DefaultTargetMiB,
		RecentMessages:    node.Inspect.RecentMessages,
		DrainTimeout:      DefaultDrainTimeout,
		AttributesGateway: att.GatewayTemplate,
		AttributesTimeout: att.Timeout,
		Log: Log{
			Level:  "info",
			Format: LogFormatAuto,
		},
		Connectivity: Connectivity{
			Address:   host.Address,
			QUIC:      !host.DisableQUIC,
			Discovery: !host.DisableDiscovery,
		},
		Head: Head{
			RollCallTimeout:   node.RollCallTimeout,
			ExecutionTimeout:  node.ExecutionTimeout,
			SettleWindow:      node.SettleWindow,
			ResultCacheSize:   node.ResultCacheSize,
			MaxRequestTimeout: rest.MaxRequestTimeout,
		},
		Worker: Worker{
			QueueSize:        node.QueueSize,
			MaxOutputBytes:   exec.MaxOutputBytes,
			MemoryLimitPages: exec.DefaultMemoryLimitPages,
			MaxRunTime:       exec.MaxRunTime,
			MemoryLimitKB:    exec.MemoryBudget / 1000,
			MaxFSBytes:       exec.MaxFSBytes,
			FSBudgetBytes:    exec.FSBudget,
		},
		FStore: FStore{
			Gateway:      store.GatewayTemplate,
			SyncInterval: node.Installer.SyncInterval,
		},
		Cluster: Cluster{
			FormationTimeout:       node.Cluster.FormTimeout,
			AbandonAfter:           node.Cluster.AbandonAfter,
			RaftHeartbeatTimeout:   node.Cluster.Raft.HeartbeatTimeout,
			RaftElectionTimeout:    node.Cluster.Raft.ElectionTimeout,
			RaftLeaderLeaseTimeout: node.Cluster.Raft.LeaderLeaseTimeout,
			RaftCommitTimeout:      node.Cluster.Raft.CommitTimeout,
			PBFTRequestTimeout:     node.Cluster.PBFTRequestTimeout,
		},
		Telemetry: Telemetry{Tracing: Tracing{Enable: trace.Enable, ExporterBatchTimeout: trace.BatchTimeout}},
	}
}

// IsHead reports whether the node runs as a head.
func (c Config) IsHead() bool { return actors.Role(c.Role) == actors.RoleHead }
