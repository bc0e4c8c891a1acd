package config

// setting binds one leaf of the Config tree to its YAML key, its flag and
// its environment variable. The table is the single place that lists them;
// flags, environment parsing and the tests are all driven from it.
type setting struct {
	key   string // YAML path, e.g. "connectivity.port"
	flag  string // long flag name; "" when the setting has no flag
	short string // one-letter short flag, or ""
	usage string
	// field returns a pointer to the setting's field in c: one of *string,
	// *bool, *uint, *uint32, *int, *int64, *float64, *time.Duration, *[]string.
	field func(c *Config) any
}

var settings = []setting{
	{"role", "role", "r", "role of the node: head or worker", func(c *Config) any { return &c.Role }},
	{"concurrency", "concurrency", "c", "maximum number of executions a worker runs at once", func(c *Config) any { return &c.Concurrency }},
	{"boot-nodes", "boot-nodes", "", "multiaddrs (with /p2p/<peerID>) of nodes to connect to at start", func(c *Config) any { return &c.BootNodes }},
	{"workspace", "workspace", "", "directory for installed functions (default <nodeDir>/workspace)", func(c *Config) any { return &c.Workspace }},
	{"load-attributes", "load-attributes", "", "workers: load the node's attestation at start from its IPNS record, through --attributes-gateway", func(c *Config) any { return &c.LoadAttributes }},
	{"attributes-file", "attributes-file", "", "workers: path of the node's attestation (attributes.bin), loaded at start and again on SIGHUP or when it changes", func(c *Config) any { return &c.AttributesFile }},
	{"attributes-gateway", "attributes-gateway", "", "URL template of the node's attestation for --load-attributes; {name} is replaced by the node's IPNS name", func(c *Config) any { return &c.AttributesGateway }},
	{"attributes-timeout", "attributes-timeout", "", "how long loading the attestation may take (file or gateway)", func(c *Config) any { return &c.AttributesTimeout }},
	{"topics", "topics", "", "topics to join in addition to the default topic", func(c *Config) any { return &c.Topics }},
	{"db", "db", "", "path of the node database (default <nodeDir>/db)", func(c *Config) any { return &c.DB }},
	{"health-interval", "health-interval", "", "period of the health ping", func(c *Config) any { return &c.HealthInterval }},
	{"debug-address", "debug-address", "", "host:port serving /debug/actors, /debug/pprof and /metrics, for the operator only (keep it on loopback; empty: none)", func(c *Config) any { return &c.DebugAddress }},
	{"drain-timeout", "drain-timeout", "", "on SIGTERM or SIGINT, how long in-flight work may take to finish before the node stops anyway (0: stop at once)", func(c *Config) any { return &c.DrainTimeout }},
	{"memory-target", "memory-target", "", "MiB of Go memory the node aims to hold under load, beyond what running functions hold; the process's soft memory limit is their sum (0: the Go runtime's defaults; GOMEMLIMIT in the environment wins)", func(c *Config) any { return &c.MemoryTarget }},
	{"recent-messages", "recent-messages", "", "messages kept per actor for /debug/actors/ui and b7s trace (0: none)", func(c *Config) any { return &c.RecentMessages }},

	{"log.level", "log-level", "l", "log level: " + logLevelNames, func(c *Config) any { return &c.Log.Level }},
	{"log.format", "log-format", "", "log format: auto (json when stderr is not a terminal, console when it is), console or json", func(c *Config) any { return &c.Log.Format }},

	{"connectivity.address", "address", "a", "address the libp2p host listens on", func(c *Config) any { return &c.Connectivity.Address }},
	{"connectivity.port", "port", "p", "port the libp2p host listens on (0 picks a free port)", func(c *Config) any { return &c.Connectivity.Port }},
	{"connectivity.private-key", "private-key", "", "path of the libp2p private key file (default: random identity)", func(c *Config) any { return &c.Connectivity.PrivateKey }},
	{"connectivity.dialback-address", "dialback-address", "", "external address the host advertises", func(c *Config) any { return &c.Connectivity.DialbackAddress }},
	{"connectivity.dialback-port", "dialback-port", "", "external port the host advertises", func(c *Config) any { return &c.Connectivity.DialbackPort }},
	{"connectivity.websocket", "websocket", "w", "listen for websocket connections too", func(c *Config) any { return &c.Connectivity.Websocket }},
	{"connectivity.websocket-port", "websocket-port", "", "port for websocket connections", func(c *Config) any { return &c.Connectivity.WebsocketPort }},
	{"connectivity.websocket-dialback-port", "websocket-dialback-port", "", "external port the host advertises for websocket connections", func(c *Config) any { return &c.Connectivity.WebsocketDialbackPort }},
	{"connectivity.no-dialback-peers", "no-dialback-peers", "", "do not dial back peers remembered from earlier runs", func(c *Config) any { return &c.Connectivity.NoDialbackPeers }},
	{"connectivity.must-reach-boot-nodes", "must-reach-boot-nodes", "", "fail at start when no boot node can be reached", func(c *Config) any { return &c.Connectivity.MustReachBootNodes }},
	{"connectivity.disable-connection-limits", "disable-connection-limits", "", "disable libp2p connection limits", func(c *Config) any { return &c.Connectivity.DisableConnectionLimits }},
	{"connectivity.connection-count", "connection-count", "", "number of connections the host aims to keep (0: libp2p default)", func(c *Config) any { return &c.Connectivity.ConnectionCount }},
	{"connectivity.quic", "quic", "", "listen on QUIC too", func(c *Config) any { return &c.Connectivity.QUIC }},
	{"connectivity.discovery", "discovery", "", "discover peers through the DHT", func(c *Config) any { return &c.Connectivity.Discovery }},

	{"head.rest-api", "rest-api", "", "host:port of the head's REST API (empty: no REST API)", func(c *Config) any { return &c.Head.RestAPI }},
	{"head.rollcall-timeout", "rollcall-timeout", "", "how long a head waits for roll-call responses", func(c *Config) any { return &c.Head.RollCallTimeout }},
	{"head.execution-timeout", "execution-timeout", "", "when a request sets no timeout: how long a head waits for execution results, and a worker lets an execution run", func(c *Config) any { return &c.Head.ExecutionTimeout }},
	{"head.settle-window", "settle-window", "", "how long a head keeps collecting results after quorum", func(c *Config) any { return &c.Head.SettleWindow }},
	{"head.result-cache-size", "result-cache-size", "", "number of finished results a head keeps", func(c *Config) any { return &c.Head.ResultCacheSize }},
	{"head.max-request-timeout", "max-request-timeout", "", "largest config.timeout of an execution request the REST API accepts (whole seconds)", func(c *Config) any { return &c.Head.MaxRequestTimeout }},

	{"worker.runtime-path", "runtime-path", "", "accepted for compatibility; the runtime is embedded", func(c *Config) any { return &c.Worker.RuntimePath }},
	{"worker.runtime-cli", "runtime-cli", "", "accepted for compatibility; the runtime is embedded", func(c *Config) any { return &c.Worker.RuntimeCLI }},
	{"worker.cpu-percentage-limit", "cpu-percentage-limit", "", "CPU time allowed for functions, 0-1 (0: no limit)", func(c *Config) any { return &c.Worker.CPUPercentageLimit }},
	{"worker.memory-limit", "memory-limit", "", "guest memory (kB) a worker's running functions may reserve together, each its memory limit; more wait or are refused with 503 (0: half the machine's memory)", func(c *Config) any { return &c.Worker.MemoryLimitKB }},
	{"worker.queue-size", "queue-size", "", "executions that may wait beyond concurrency", func(c *Config) any { return &c.Worker.QueueSize }},
	{"worker.max-output-bytes", "max-output-bytes", "", "cap on each of stdout and stderr of one execution", func(c *Config) any { return &c.Worker.MaxOutputBytes }},
	{"worker.memory-limit-pages", "memory-limit-pages", "", "default guest memory cap in 64 KiB pages", func(c *Config) any { return &c.Worker.MemoryLimitPages }},
	{"worker.max-run-time", "max-run-time", "", "wall-clock limit of one execution", func(c *Config) any { return &c.Worker.MaxRunTime }},
	{"worker.max-fs-bytes", "max-fs-bytes", "", "disk one execution may add to its filesystem root (bytes, plus 4 KiB per file it makes); a write past it fails as on a full disk", func(c *Config) any { return &c.Worker.MaxFSBytes }},
	{"worker.fs-budget-bytes", "fs-budget-bytes", "", "disk a worker's running functions may reserve together, each its max-fs-bytes (0: half the free space of the workspace's filesystem)", func(c *Config) any { return &c.Worker.FSBudgetBytes }},
	{"worker.compilation-cache", "compilation-cache", "", "directory of compiled functions kept across restarts (default <workspace>/.cache/wazero; - for none)", func(c *Config) any { return &c.Worker.CompilationCache }},

	{"fstore.gateway", "gateway", "", "manifest URL template; {cid} is replaced by the function CID", func(c *Config) any { return &c.FStore.Gateway }},
	{"fstore.sync-interval", "sync-interval", "", "period of the installed-functions check", func(c *Config) any { return &c.FStore.SyncInterval }},

	{"cluster.formation-timeout", "cluster-formation-timeout", "", "how long a head waits for its workers to form a consensus cluster, and a worker for its cluster to find a leader", func(c *Config) any { return &c.Cluster.FormationTimeout }},
	{"cluster.abandon-after", "cluster-abandon-after", "", "workers: drop a cluster whose head sent nothing more for this long after it formed or after its request's deadline", func(c *Config) any { return &c.Cluster.AbandonAfter }},
	{"cluster.raft-heartbeat-timeout", "raft-heartbeat-timeout", "", "Raft: a follower that hears no leader this long (up to twice it) starts an election", func(c *Config) any { return &c.Cluster.RaftHeartbeatTimeout }},
	{"cluster.raft-election-timeout", "raft-election-timeout", "", "Raft: a candidate that wins no election this long tries again (at least the heartbeat timeout)", func(c *Config) any { return &c.Cluster.RaftElectionTimeout }},
	{"cluster.raft-leader-lease-timeout", "raft-leader-lease-timeout", "", "Raft: a leader that hears from no quorum this long steps down (at most the heartbeat timeout)", func(c *Config) any { return &c.Cluster.RaftLeaderLeaseTimeout }},
	{"cluster.raft-commit-timeout", "raft-commit-timeout", "", "Raft: how often a leader tells followers what is committed when nothing else is sent (bounds a follower's lag)", func(c *Config) any { return &c.Cluster.RaftCommitTimeout }},

	{"cluster.pbft-request-timeout", "pbft-request-timeout", "", "PBFT: a replica that has not executed a request this long starts a view change (keep it well inside a request's deadline)", func(c *Config) any { return &c.Cluster.PBFTRequestTimeout }},

	{"telemetry.tracing.enable", "enable-tracing", "", "emit tracing data", func(c *Config) any { return &c.Telemetry.Tracing.Enable }},
	{"telemetry.tracing.exporter-batch-timeout", "", "", "tracing exporter batch timeout (0: synchronous)", func(c *Config) any { return &c.Telemetry.Tracing.ExporterBatchTimeout }},
	{"telemetry.tracing.grpc.endpoint", "tracing-grpc-endpoint", "", "tracing exporter gRPC endpoint (host:port)", func(c *Config) any { return &c.Telemetry.Tracing.GRPC.Endpoint }},
	{"telemetry.tracing.http.endpoint", "tracing-http-endpoint", "", "tracing exporter HTTP endpoint (host:port)", func(c *Config) any { return &c.Telemetry.Tracing.HTTP.Endpoint }},
	{"telemetry.metrics.enable", "enable-metrics", "", "serve Prometheus metrics", func(c *Config) any { return &c.Telemetry.Metrics.Enable }},
	{"telemetry.metrics.prometheus-address", "prometheus-address", "", "host:port serving /metrics", func(c *Config) any { return &c.Telemetry.Metrics.PrometheusAddress }},
	{"telemetry.metrics.libp2p", "libp2p-metrics", "", "also export go-libp2p's own libp2p_* metrics (costs CPU per stream)", func(c *Config) any { return &c.Telemetry.Metrics.LibP2P }},
}
