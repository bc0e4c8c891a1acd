package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/config"
	craft "github.com/b7s-actor/b7s/consensus/raft"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/fstore"
	"github.com/b7s-actor/b7s/internal/memlimit"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/p2p"
)

// Daemon is one running node.
type Daemon struct {
	Config  config.Config
	Host    *p2p.Host
	Node    *actors.Node
	Metrics *prometheus.Registry

	db       *bbolt.DB
	store    *fstore.Store
	executor *executor.Executor
	memory   *memlimit.Governor
	tracing  *tracing.Provider
	stopOnce sync.Once
	// public serves the REST API and health (httpAddress); debug the operator's pages.
	public, debug servedHTTP
	draining      atomic.Bool
	log           zerolog.Logger

	// attestation is a worker's; nil on heads.
	attestation *attestation
	// raft carries a worker's Raft clusters; nil on heads.
	raft *craft.Mux
}

// Options are what the configuration does not carry.
type Options struct {
	Key     crypto.PrivKey // nil: load cfg.Connectivity.PrivateKey, or a random identity
	Log     zerolog.Logger
	Version string
	// WrapRunner, when set, wraps a worker's executor: the hook for fault-injection tests.
	WrapRunner func(actors.FunctionRunner) actors.FunctionRunner
	// Backoff, when set, replaces how the node restarts failed actors (tests use a short one).
	Backoff *actors.BackoffConfig
	// Middleware wraps every actor's receive (the test harness's fault injection).
	Middleware []actor.ReceiverMiddleware
	// WrapHost, when set, wraps the libp2p host as the actors see it: the hook for network
	// faults in tests (actortest.Links).
	WrapHost func(actors.Host) actors.Host
	// HTTP, when set, adjusts the HTTP configuration taken from cfg (tests shorten the server's
	// timeouts).
	HTTP func(*api.Config)
	// SpanProcessors receive every span the node makes, besides its exporters, and turn
	// tracing on (tests record spans with a tracetest.SpanRecorder).
	SpanProcessors []sdktrace.SpanProcessor
	// PBFTSilent silences the node's PBFT replicas while it returns true: spec §6's
	// B7S_PBFT_BYZANTINE hook for in-process tests. Nil: the environment variable decides.
	PBFTSilent func() bool
}

// Start builds and starts a node. cfg must be validated; its paths are resolved here.
func Start(ctx context.Context, cfg config.Config, opts Options) (_ *Daemon, err error) {
	key := opts.Key
	if key == nil {
		if key, err = loadKey(cfg.Connectivity.PrivateKey); err != nil {
			return nil, err
		}
	}
	id, err := peerIDOf(key)
	if err != nil {
		return nil, err
	}
	if err := cfg.ResolvePaths(id); err != nil {
		return nil, fmt.Errorf("resolve paths: %w", err)
	}
	log := opts.Log.With().Str("node", shortID(id)).Logger()
	d := &Daemon{Config: cfg, log: log, Metrics: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			d.Stop()
		}
	}()
	d.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if d.tracing, err = tracing.New(ctx, cfg.Tracing(), tracing.Resource{Version: opts.Version, PeerID: id, Role: cfg.Role},
		opts.SpanProcessors...); err != nil {
		return nil, fmt.Errorf("start tracing: %w", err)
	}
	if d.db, err = openDB(cfg.DB); err != nil {
		return nil, err
	}
	hostCfg := cfg.Host()
	hostCfg.Logger, hostCfg.Registerer = log, d.Metrics
	if d.Host, err = p2p.New(key, d.db, hostCfg); err != nil {
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	deps := actors.Deps{Host: d.Host, Key: key, Log: log, Registerer: d.Metrics, Middleware: opts.Middleware, Tracing: d.tracing}
	if opts.WrapHost != nil {
		deps.Host = opts.WrapHost(d.Host)
	}
	if !cfg.IsHead() {
		if err := d.startWorkerParts(cfg, log); err != nil {
			return nil, err
		}
		deps.Store, deps.Functions, deps.Runner = d.store, d.store, d.executor
		d.raft = craft.NewMux(d.Host.LibP2P())
		deps.Raft = d.raft
		if opts.WrapRunner != nil {
			deps.Runner = opts.WrapRunner(d.executor)
		}
		if deps.Attestation, err = d.startAttestation(ctx); err != nil {
			return nil, err
		}
	} else if cfg.Attestation().Enabled() {
		log.Warn().Msg("attributes-file and load-attributes are ignored: a head answers no roll calls")
	}
	nodeCfg := cfg.Node(opts.Version)
	if opts.Backoff != nil {
		nodeCfg.Backoff = *opts.Backoff
	}
	nodeCfg.Cluster.PBFTSilent = actors.ByzantineFromEnv()
	if opts.PBFTSilent != nil {
		nodeCfg.Cluster.PBFTSilent = opts.PBFTSilent
	}
	if d.Node, err = actors.Start(nodeCfg, deps); err != nil {
		return nil, err
	}
	d.Host.SetTraceHandler(d.answerTrace)
	// Subscriptions exist before we connect, so no early message is missed (spec §1.4 order).
	if err := d.Host.Start(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	httpCfg := cfg.API()
	if opts.HTTP != nil {
		opts.HTTP(&httpCfg)
	}
	if err := d.startHTTP(httpCfg); err != nil {
		return nil, err
	}
	d.startMemoryLimit()
	log.Info().Str("peer", id).Strs("addrs", d.Host.Addresses()).Str("role", cfg.Role).
		Str("http", d.HTTPAddress()).Str("debug", d.DebugAddress()).Bool("tracing", d.tracing.Enabled()).Msg("node started")
	return d, nil
}

// startMemoryLimit sets the process's soft memory limit to the configured target plus what the
// worker's running functions hold on the heap. The limit is the process's: a process that
// runs several nodes (tests) must give them a target of 0.
func (d *Daemon) startMemoryLimit() {
	var held func() int64
	if d.executor != nil {
		held = d.executor.GuestHeapBytes
	}
	if d.memory = memlimit.Start(int64(d.Config.MemoryTarget)<<20, held); d.memory != nil {
		d.log.Debug().Uint("memory_target_mib", d.Config.MemoryTarget).Msg("soft memory limit set")
	}
}

// startWorkerParts opens the function store and the WebAssembly executor.
func (d *Daemon) startWorkerParts(cfg config.Config, log zerolog.Logger) error {
	sc := cfg.Store()
	sc.Logger, sc.Registerer = log, d.Metrics
	var err error
	if d.store, err = fstore.New(sc, d.db); err != nil {
		return fmt.Errorf("open function store: %w", err)
	}
	ec := cfg.Executor()
	ec.Logger, ec.Registerer = log, d.Metrics
	if d.executor, err = executor.New(ec); err != nil {
		return fmt.Errorf("start executor: %w", err)
	}
	return nil
}

func loadKey(path string) (crypto.PrivKey, error) {
	if path == "" {
		return p2p.GenerateKey()
	}
	key, err := p2p.LoadKey(path)
	if err != nil {
		return nil, fmt.Errorf("load private key %s: %w", path, err)
	}
	return key, nil
}

func openDB(dir string) (*bbolt.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create db dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, "b7s.bolt")
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open db %s: %w", path, err)
	}
	return db, nil
}

// httpAddress is where the node serves HTTP: the REST address, else the metrics address when
// metrics are on; "" for none.
func httpAddress(cfg config.Config) string {
	if cfg.Head.RestAPI != "" {
		return cfg.Head.RestAPI
	}
	if cfg.Telemetry.Metrics.Enable {
		return cfg.Telemetry.Metrics.PrometheusAddress
	}
	return ""
}

// servedHTTP is one HTTP server of the node and where it listens.
type servedHTTP struct {
	srv  *http.Server
	addr net.Addr
}

func (d *Daemon) startHTTP(cfg api.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	deps := d.inspectDeps()
	deps.Gatherer, deps.Log, deps.Attestation = d.Metrics, d.log, d.attestationInfo
	deps.PublicMetrics = d.Config.Telemetry.Metrics.Enable
	deps.Live, deps.Ready, deps.Draining, deps.Tracing = d.liveness, d.readiness, d.draining.Load, d.tracing
	if d.Config.IsHead() {
		deps.Head = d.Node
	}
	var err error
	if addr := httpAddress(d.Config); addr != "" {
		if d.public, err = d.serveHTTP(addr, api.NewServer(cfg, api.NewHandler(cfg, deps))); err != nil {
			return fmt.Errorf("listen http %s: %w", addr, err)
		}
	}
	if addr := d.Config.DebugAddress; addr != "" {
		// The debug server keeps the timeouts but no WriteTimeout either: a CPU profile takes
		// as long as it was asked to.
		if d.debug, err = d.serveHTTP(addr, api.NewServer(cfg, api.NewDebugHandler(cfg, deps))); err != nil {
			return fmt.Errorf("listen debug-address %s: %w", addr, err)
		}
	}
	return nil
}

func (d *Daemon) serveHTTP(addr string, srv *http.Server) (servedHTTP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return servedHTTP{}, err
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error().Err(err).Str("address", ln.Addr().String()).Msg("http server stopped")
		}
	}()
	return servedHTTP{srv: srv, addr: ln.Addr()}, nil
}

// shutdown closes the server's listener and waits, within d, for the requests it is answering.
func (s servedHTTP) shutdown(wait time.Duration) {
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
}

func (s servedHTTP) address() string {
	if s.addr == nil {
		return ""
	}
	return s.addr.String()
}

// HTTPAddress returns host:port of the public HTTP server (REST API, health), or "" when it
// has none.
func (d *Daemon) HTTPAddress() string { return d.public.address() }

// DebugAddress returns host:port of the debug server (/debug/*, /metrics, pprof), or "".
func (d *Daemon) DebugAddress() string { return d.debug.address() }

// Drain stops the node taking work and waits, within ctx, for what it holds to finish: a head
// answers new REST requests with 503 and a Retry-After and a peer's MsgExecute with "503"; a
// worker stays silent on roll calls and refuses MsgExecute with "503". /readyz fails from now
// on. In-flight requests answer as usual. Stop the daemon afterwards, whatever Drain returns.
func (d *Daemon) Drain(ctx context.Context) error {
	d.draining.Store(true)
	return d.Node.Drain(ctx)
}

// Stop stops the node in reverse start order. It is safe on a partly started daemon, and to
// call more than once.
func (d *Daemon) Stop() { d.stopOnce.Do(d.stop) }

// httpShutdownWait bounds the wait for HTTP handlers to write their last answers.
const httpShutdownWait = 5 * time.Second

func (d *Daemon) stop() {
	d.draining.Store(true) // new REST work is refused from here on, never sent to stopped actors
	d.memory.Stop()
	if d.Node != nil {
		// Requests still running are answered ("stopped before it finished"), so the HTTP
		// handlers waiting for them write their answers before the servers close.
		d.Node.Stop()
	}
	d.public.shutdown(httpShutdownWait)
	d.debug.shutdown(httpShutdownWait)
	d.stopAttestation()
	if d.executor != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := d.executor.Close(ctx); err != nil {
			d.log.Warn().Err(err).Msg("close executor")
		}
		cancel()
	}
	if d.store != nil {
		_ = d.store.Close()
	}
	if d.raft != nil {
		d.raft.Close() // after the node: its replicas have closed their streams
	}
	if d.Host != nil {
		if err := d.Host.Close(); err != nil {
			d.log.Warn().Err(err).Msg("close host")
		}
	}
	if d.db != nil {
		if err := d.db.Close(); err != nil {
			d.log.Warn().Err(err).Msg("close db")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := d.tracing.Shutdown(ctx); err != nil {
		d.log.Warn().Err(err).Msg("flush traces")
	}
	cancel()
}

func peerIDOf(key crypto.PrivKey) (string, error) {
	id, err := peerIDFromKey(key)
	if err != nil {
		return "", fmt.Errorf("derive peer id: %w", err)
	}
	return id, nil
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}
