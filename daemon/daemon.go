package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/fstore"
	"github.com/b7s-actor/b7s/internal/memlimit"
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
	stopOnce sync.Once
	http     *http.Server
	httpAddr net.Addr
	log      zerolog.Logger

	// attestation is a worker's; nil on heads.
	attestation *attestation
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

	if d.db, err = openDB(cfg.DB); err != nil {
		return nil, err
	}
	hostCfg := cfg.Host()
	hostCfg.Logger, hostCfg.Registerer = log, d.Metrics
	if d.Host, err = p2p.New(key, d.db, hostCfg); err != nil {
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	deps := actors.Deps{Host: d.Host, Log: log, Registerer: d.Metrics, Middleware: opts.Middleware}
	if opts.WrapHost != nil {
		deps.Host = opts.WrapHost(d.Host)
	}
	if !cfg.IsHead() {
		if err := d.startWorkerParts(cfg, log); err != nil {
			return nil, err
		}
		deps.Store, deps.Functions, deps.Runner = d.store, d.store, d.executor
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
	log.Info().Str("peer_id", id).Strs("addrs", d.Host.Addresses()).Str("role", cfg.Role).
		Str("http", d.HTTPAddress()).Msg("node started")
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

func (d *Daemon) startHTTP(cfg api.Config) error {
	addr := httpAddress(d.Config)
	if addr == "" {
		return nil
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", addr, err)
	}
	d.httpAddr = ln.Addr()
	deps := d.inspectDeps()
	deps.Gatherer, deps.Log, deps.Attestation = d.Metrics, d.log, d.attestationInfo
	if d.Config.IsHead() {
		deps.Head = d.Node
	}
	handler := api.NewHandler(cfg, deps)
	if d.Config.Pprof {
		handler = withPprof(handler)
	}
	d.http = api.NewServer(cfg, handler)
	go func() {
		if err := d.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error().Err(err).Msg("http server stopped")
		}
	}()
	return nil
}

// withPprof serves Go's profiler under /debug/pprof/ next to the node's own paths.
func withPprof(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", next)
	return mux
}

// HTTPAddress returns host:port of the HTTP server, or "" when it has none.
func (d *Daemon) HTTPAddress() string {
	if d.httpAddr == nil {
		return ""
	}
	return d.httpAddr.String()
}

// Stop stops the node in reverse start order. It is safe on a partly started daemon, and to
// call more than once.
func (d *Daemon) Stop() { d.stopOnce.Do(d.stop) }

func (d *Daemon) stop() {
	d.memory.Stop()
	if d.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.http.Shutdown(ctx)
		cancel()
	}
	if d.Node != nil {
		d.Node.Stop()
	}
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
