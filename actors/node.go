package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/attest"
	craft "github.com/b7s-actor/b7s/consensus/raft"
	"github.com/b7s-actor/b7s/internal/actorsystem"
	"github.com/b7s-actor/b7s/internal/check"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// Config is the node's actor-level configuration. DefaultConfig owns every default; the
// node's configuration file and flags start from it.
type Config struct {
	Role           Role
	Topics         []string      // subscribed topics; the default topic is always added
	HealthInterval time.Duration // between health pings
	SendTimeout    time.Duration // one outbound send or publish
	Backoff        BackoffConfig // how the node restarts a failed child
	Version        string        // for b7s_node_info
	Installer      InstallerConfig
	Inspect        inspect.Config // what the inspection registry keeps beyond the tree
	// Head (RollCallTimeout also on a worker: how long a "202" answer binds it through a drain)
	RollCallTimeout  time.Duration // when a request sets no timeout
	ExecutionTimeout time.Duration // when a request sets no timeout: the head's wait for results, a worker's bound on a run
	SettleWindow     time.Duration // number_of_nodes unset: how long to keep listening after the first answer
	ResultCacheSize  int           // finished requests kept for the result endpoint
	// Worker
	Concurrency int // executions at once
	QueueSize   int // executions waiting for a slot or for the runner's budget; more are refused with "503"
	// Cluster is consensus clusters' timing; its FormTimeout is also how long a head waits for
	// its workers to form one.
	Cluster ClusterConfig
}

// DefaultConfig returns a worker's configuration with the spec's intervals.
func DefaultConfig() Config {
	return Config{
		Role:             RoleWorker,
		HealthInterval:   time.Minute,
		SendTimeout:      10 * time.Second,
		Backoff:          DefaultBackoff(),
		Version:          "dev",
		Installer:        DefaultInstallerConfig(),
		Inspect:          inspect.DefaultConfig(),
		RollCallTimeout:  5 * time.Second,
		ExecutionTimeout: 20 * time.Second,
		SettleWindow:     100 * time.Millisecond,
		ResultCacheSize:  1000,
		Concurrency:      10,
		QueueSize:        100,
		Cluster:          DefaultClusterConfig(),
	}
}

// Validate reports every setting out of bounds.
func (c Config) Validate() error {
	errs := []error{
		check.OneOf("Role", c.Role, RoleHead, RoleWorker),
		check.Min("HealthInterval", c.HealthInterval, 10*time.Millisecond),
		check.Min("SendTimeout", c.SendTimeout, time.Millisecond),
		check.Min("RollCallTimeout", c.RollCallTimeout, time.Millisecond),
		check.Min("ExecutionTimeout", c.ExecutionTimeout, time.Millisecond),
		check.Min("SettleWindow", c.SettleWindow, time.Millisecond),
		check.Min("ResultCacheSize", c.ResultCacheSize, 1),
		check.Min("QueueSize", c.QueueSize, 0),
		c.Backoff.validate(),
		c.Installer.validate(),
		c.Inspect.Validate(),
		c.Cluster.validate(),
	}
	if c.Role == RoleWorker {
		errs = append(errs, check.Min("Concurrency", c.Concurrency, 1))
	}
	return errors.Join(errs...)
}

// Deps are the node's collaborators, built by the caller.
type Deps struct {
	Host       Host
	Log        zerolog.Logger
	Registerer prometheus.Registerer // node metrics go here; nil for none
	Store      FunctionStore         // workers' function store; nil on heads
	Functions  FunctionLocator       // workers: where installed functions are (the same store)
	Runner     FunctionRunner        // workers: the WebAssembly executor
	// Attestation holds the worker's attestation, matched against roll calls with attributes;
	// nil (or empty) means none, and such roll calls go unanswered (spec §4.4).
	Attestation *attest.Holder
	// Middleware wraps every actor's receive, inside the inspection middleware: the hook for the
	// test harness's fault injection. Nil in production.
	Middleware []actor.ReceiverMiddleware
	// Tracing makes the spans of spec §11 and carries their context in messages; nil is off.
	Tracing *tracing.Provider
	// Raft carries workers' Raft clusters over the host (consensus/raft), and its host their
	// PBFT streams; nil: a worker serves no cluster and stays silent on consensus roll calls.
	Raft *craft.Mux
	// Key is the node's libp2p key: a head signs PBFT requests with it, a worker its PBFT
	// results (spec §3.4). Nil: no PBFT.
	Key crypto.PrivKey
}

// Node is a running b7s node: an actor system whose root actor supervises everything else.
type Node struct {
	cfg     Config
	system  *actor.ActorSystem
	root    *actor.RootContext
	inspect *inspect.Registry
	tree    *tree
	mailbox *reusingDispatcher // runs every actor's mailbox
	metrics *nodeMetrics
	outbox  *outbox
	results *resultCache
	pid     *actor.PID
	log     zerolog.Logger
	stop    sync.Once
	// failed is closed when the root stops without being asked to: its own supervisor gave up.
	failed        chan struct{}
	stopRequested atomic.Bool
	drain         drainState
	tracing       *tracing.Provider
}

// childSpec is one child of the node root, and the wire message types it owns.
type childSpec struct {
	name, kind string
	producer   actor.Producer
	owns       []string
	// perRequest: the child's own children each serve one request; a panic stops that one
	// (it answers its requester) instead of restarting it into a second run.
	perRequest bool
}

// Start builds the actor tree of cfg.Role on deps.Host and starts it.
func Start(cfg Config, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	if deps.Host == nil {
		return nil, errors.New("node: no libp2p host")
	}
	if cfg.Role == RoleWorker && (deps.Store == nil || deps.Functions == nil || deps.Runner == nil) {
		return nil, errors.New("node: a worker needs a function store and an executor")
	}
	log := deps.Log.With().Str("role", string(cfg.Role)).Logger()
	system := actorsystem.New(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return newSlogLogger(log.With().Str("component", "protoactor").Logger())
	}))
	reg := inspect.NewRegistry(cfg.Inspect, describe)
	mailbox := newReusingDispatcher(300, 5*time.Second) // 300: protoactor's default batch
	metrics := newMetrics(deps.Registerer)
	metrics.info.WithLabelValues(deps.Host.ID().String(), cfg.Version, string(cfg.Role)).Set(1)
	n := &Node{
		cfg:     cfg,
		system:  system,
		root:    reg.Root(system),
		inspect: reg,
		tree:    newTree(reg, mailbox, deps.Middleware),
		mailbox: mailbox,
		metrics: metrics,
		outbox:  newOutbox(deps.Host, cfg.SendTimeout, metrics, log),
		results: newResultCache(cfg.ResultCacheSize),
		failed:  make(chan struct{}),
		log:     log,
		tracing: deps.Tracing,
	}
	n.outbox.tracing = deps.Tracing

	topics := withDefaultTopic(cfg.Topics)
	root := &nodeRoot{node: n, host: deps.Host, topics: topics, owners: n.owners(deps)}
	pid, err := n.root.SpawnNamed(n.tree.props("node", func() actor.Actor { return root },
		actor.WithSupervisor(newOneForOneBackoff(cfg.Backoff))), "node")
	if err != nil {
		system.Shutdown()
		return nil, fmt.Errorf("spawn node root: %w", err)
	}
	n.pid = pid
	// Wait until every listener is subscribed, so the host does not connect before the node
	// can hear (spec §1.4: subscribe first, then connect).
	if _, err := n.root.RequestFuture(pid, &ready{}, 10*time.Second).Result(); err != nil {
		n.Stop()
		return nil, fmt.Errorf("start node root: %w", err)
	}
	listeners := []string{"direct"}
	for _, t := range topics {
		listeners = append(listeners, "topics/"+t)
	}
	for _, name := range listeners {
		if _, err := n.root.RequestFuture(n.child(name), &ready{}, 10*time.Second).Result(); err != nil {
			n.Stop()
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
	}
	return n, nil
}

// owners are the root's children that own wire message types: what every node has, then the
// role's own.
func (n *Node) owners(deps Deps) []childSpec {
	cfg := n.cfg
	installer := installerConfig{InstallerConfig: cfg.Installer, Store: deps.Store, Outbox: n.outbox, Log: n.log}
	owners := []childSpec{{
		name: "health", kind: "health",
		producer: newHealth(healthConfig{Interval: cfg.HealthInterval, Topic: p2p.DefaultTopic, Outbox: n.outbox, Log: n.log}),
		owns:     []string{messages.TypeHealthCheck},
	}, {
		name: "installer", kind: "installer", producer: newInstaller(installer),
		owns: []string{messages.TypeInstallFunction, messages.TypeInstallFunctionResponse},
	}}
	switch cfg.Role {
	case RoleHead:
		owners = append(owners, childSpec{
			name: "requests", kind: "requests",
			producer: newRequests(requestsConfig{
				Self: deps.Host.ID(), Host: deps.Host, Outbox: n.outbox, Results: n.results,
				RollCallTimeout: cfg.RollCallTimeout, ExecutionTimeout: cfg.ExecutionTimeout, SettleWindow: cfg.SettleWindow,
				FormTimeout: cfg.Cluster.FormTimeout, Key: deps.Key,
				Tree: n.tree, Metrics: n.metrics, Log: n.log, Drain: &n.drain, Tracing: deps.Tracing,
			}),
			owns:       []string{messages.TypeExecute, messages.TypeRollCallResponse, messages.TypeExecuteResponse, messages.TypeFormClusterResponse},
			perRequest: true,
		})
	case RoleWorker:
		owners = append(owners, childSpec{
			name: "work", kind: "work",
			producer: newWork(workConfig{
				Self: deps.Host.ID(), Concurrency: cfg.Concurrency, QueueSize: cfg.QueueSize, ExecutionTimeout: cfg.ExecutionTimeout,
				PromiseWindow: cfg.RollCallTimeout, Runner: deps.Runner, Functions: deps.Functions, Installer: n.child("installer"), Attestation: deps.Attestation,
				Outbox: n.outbox, Results: n.results, Tree: n.tree, Metrics: n.metrics, Log: n.log,
				Drain: &n.drain, Tracing: deps.Tracing, Clusters: n.child("clusters"), Consensus: deps.Raft != nil && deps.Key != nil,
				Key: deps.Key,
			}),
			owns:       []string{messages.TypeRollCall, messages.TypeExecute},
			perRequest: true,
		}, childSpec{
			name: "clusters", kind: "clusters",
			producer: newClusters(clustersConfig{
				ClusterConfig: cfg.Cluster, Self: deps.Host.ID(), Mux: deps.Raft, Key: deps.Key, Work: n.child("work"),
				ExecutionTimeout: cfg.ExecutionTimeout, Outbox: n.outbox, Tree: n.tree, Metrics: n.metrics, Log: n.log,
			}),
			owns:       []string{messages.TypeFormCluster, messages.TypeDisbandCluster},
			perRequest: true,
		})
	}
	return owners
}

// topicInFlight bounds each topic's messages waiting for the router.
const topicInFlight = 1024

// ready asks an actor to answer once it has started.
type ready struct{}

func withDefaultTopic(topics []string) []string {
	out := []string{p2p.DefaultTopic}
	for _, t := range topics {
		if t != "" && t != p2p.DefaultTopic {
			out = append(out, t)
		}
	}
	return out
}

// Stop stops every actor, children first, and shuts the actor system down.
func (n *Node) Stop() { n.stop.Do(n.shutdown) }

func (n *Node) shutdown() {
	n.stopRequested.Store(true)
	if err := n.root.StopFuture(n.pid).Wait(); err != nil {
		n.log.Warn().Err(err).Msg("stop node root")
	}
	n.outbox.drain(2 * time.Second)
	n.system.Shutdown()
	n.mailbox.stop()
}

// Failed is closed if the node's actors stopped on their own: the root failed more often than
// its supervisor allows. A daemon should then exit rather than run without a node.
func (n *Node) Failed() <-chan struct{} { return n.failed }

// Alive reports whether the node's root actor answers within ctx: the actor system runs and
// its root has not given up (liveness, /livez).
func (n *Node) Alive(ctx context.Context) error {
	select {
	case <-n.failed:
		return errors.New("the node's actors failed too often and stopped")
	default:
	}
	wait := time.Second
	if deadline, ok := ctx.Deadline(); ok {
		wait = max(time.Until(deadline), time.Millisecond)
	}
	if _, err := n.root.RequestFuture(n.pid, &ready{}, wait).Result(); err != nil {
		return fmt.Errorf("the node's root actor did not answer: %w", err)
	}
	return nil
}

// Inspect returns the registry that knows the node's live supervision tree.
func (n *Node) Inspect() *inspect.Registry { return n.inspect }

// child returns the PID of a direct child of the node root, such as "router".
func (n *Node) child(name string) *actor.PID {
	return actor.NewPID(n.system.Address(), "node/"+name)
}

// nodeRoot is the root actor: it spawns the role's children and supervises them.
type nodeRoot struct {
	node   *Node
	host   Host
	topics []string
	owners []childSpec
	// stopping: children end because the root itself is stopping or restarting.
	stopping bool
}

func (r *nodeRoot) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.stopping = false
		r.spawnChildren(ctx)
	case *actor.Stopping, *actor.Restarting:
		r.stopping = true
	case *actor.Stopped:
		if !r.node.stopRequested.Load() {
			r.node.log.Error().Msg("the node's actors stopped: the root failed too often")
			close(r.node.failed)
		}
	case *actor.Terminated:
		if !r.stopping {
			// A child failed more often than its backoff allows and was stopped for good. A
			// node without its router or a listener looks alive but hears nothing, so the
			// failure goes up: the root restarts and rebuilds every child.
			r.node.log.Error().Str("actor", m.Who.Id).Msg("child stopped for good; restarting the node's actors")
			panic(fmt.Errorf("child %s stopped for good", m.Who.Id))
		}
	case *ready:
		ctx.Respond(true) // Started ran first, so every child exists
	}
}

func (r *nodeRoot) spawnChildren(ctx actor.Context) {
	n := r.node
	ownerOf := make(map[string]*actor.PID)
	for _, c := range r.owners {
		strategy := newOneForOneBackoff(n.cfg.Backoff)
		if c.perRequest {
			strategy = newStopOnFailure()
		}
		pid := r.spawnWith(ctx, c.name, c.kind, c.producer, strategy)
		for _, t := range c.owns {
			ownerOf[t] = pid
		}
	}
	router := r.spawn(ctx, "router", "router", newRouter(routerConfig{
		Role: n.cfg.Role, Owners: ownerOf, Metrics: n.metrics, Log: n.log, Recording: n.inspect.Recording(),
		Tracing: n.tracing,
	}))
	r.spawn(ctx, "direct", "direct-listener", newDirectListener(directListenerConfig{
		Host: r.host, Router: router, Metrics: n.metrics, Log: n.log,
	}))
	for _, t := range r.topics {
		r.spawn(ctx, "topics/"+t, "topic-listener", newTopicListener(topicListenerConfig{
			Host: r.host, Topic: t, InFlight: topicInFlight, Router: router, Metrics: n.metrics, Log: n.log,
		}))
	}
}

func (r *nodeRoot) spawn(ctx actor.Context, name, kind string, producer actor.Producer) *actor.PID {
	return r.spawnWith(ctx, name, kind, producer, newOneForOneBackoff(r.node.cfg.Backoff))
}

// spawnWith spawns a child whose own children are supervised by strategy.
func (r *nodeRoot) spawnWith(ctx actor.Context, name, kind string, producer actor.Producer, strategy actor.SupervisorStrategy) *actor.PID {
	pid, err := ctx.SpawnNamed(r.node.tree.props(kind, producer, actor.WithSupervisor(strategy)), name)
	if err != nil {
		// Names are fixed and unique; failing here is a bug, and the supervisor should see it.
		panic(fmt.Errorf("spawn %s: %w", name, err))
	}
	return pid
}
