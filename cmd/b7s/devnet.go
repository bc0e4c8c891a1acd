package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/b7s-actor/b7s/fstore/funcpack"
)

// devnetConfig is what `b7s devnet` runs: one head and Workers workers on 127.0.0.1.
type devnetConfig struct {
	Workers         int
	Dir             string
	BasePort        int    // head p2p port; worker k (1-based) listens on BasePort+k
	RestAPI         string // the head's REST API
	MetricsBasePort int    // worker k serves metrics on MetricsBasePort+k-1
	DebugBasePort   int    // the head's debug address; worker k's is DebugBasePort+k
	Wasm            string
	LogLevel        string
	ReadyTimeout    time.Duration
	NodeArgs        []string // passed to every node's `b7s run` after the devnet's own flags
	// WorkerEnv is "K:NAME=VALUE": an environment variable for worker K alone (a fault for one
	// node, e.g. B7S_PBFT_BYZANTINE).
	WorkerEnv []string
	// RecentMessages each node keeps per actor: a devnet is for debugging, so its pages and
	// `b7s trace` have something to show by default.
	RecentMessages int
}

func defaultDevnetConfig() devnetConfig {
	return devnetConfig{
		Workers:         2,
		Dir:             ".devnet",
		BasePort:        9527,
		RestAPI:         "127.0.0.1:8080",
		MetricsBasePort: 9100,
		DebugBasePort:   6060,
		Wasm:            filepath.Join("bin", "examples", "hello.wasm"),
		LogLevel:        "info",
		ReadyTimeout:    90 * time.Second,
		RecentMessages:  64,
	}
}

// maxDevnetWorkers bounds the network to what one machine runs comfortably.
const maxDevnetWorkers = 32

func (c devnetConfig) validate() error {
	if c.Workers < 1 || c.Workers > maxDevnetWorkers {
		return fmt.Errorf("--workers %d: want 1 to %d", c.Workers, maxDevnetWorkers)
	}
	if c.BasePort < 1024 || c.BasePort+c.Workers > 65535 {
		return fmt.Errorf("--base-port %d: ports %d-%d must lie in 1024-65535", c.BasePort, c.BasePort, c.BasePort+c.Workers)
	}
	if c.MetricsBasePort < 1024 || c.MetricsBasePort+c.Workers-1 > 65535 {
		return fmt.Errorf("--metrics-base-port %d: ports %d-%d must lie in 1024-65535", c.MetricsBasePort, c.MetricsBasePort, c.MetricsBasePort+c.Workers-1)
	}
	if c.DebugBasePort < 1024 || c.DebugBasePort+c.Workers > 65535 {
		return fmt.Errorf("--debug-base-port %d: ports %d-%d must lie in 1024-65535", c.DebugBasePort, c.DebugBasePort, c.DebugBasePort+c.Workers)
	}
	host, _, err := net.SplitHostPort(c.RestAPI)
	if err != nil || host != "127.0.0.1" {
		return fmt.Errorf("--rest-api %q: want 127.0.0.1:<port>", c.RestAPI)
	}
	if c.Dir == "" {
		return errors.New("--dir is empty")
	}
	if c.ReadyTimeout <= 0 {
		return fmt.Errorf("--ready-timeout %v: must be positive", c.ReadyTimeout)
	}
	if _, err := c.workerEnv(); err != nil {
		return err
	}
	return nil
}

// workerEnv is WorkerEnv by worker number (1-based).
func (c devnetConfig) workerEnv() (map[int][]string, error) {
	env := make(map[int][]string)
	for _, e := range c.WorkerEnv {
		k, kv, ok := strings.Cut(e, ":")
		n, err := strconv.Atoi(k)
		name, _, hasValue := strings.Cut(kv, "=")
		if !ok || err != nil || n < 1 || n > c.Workers || !hasValue || name == "" {
			return nil, fmt.Errorf("--worker-env %q: want K:NAME=VALUE with K a worker from 1 to %d", e, c.Workers)
		}
		env[n] = append(env[n], kv)
	}
	return env, nil
}

// runDevnet is `b7s devnet`: a head and workers as child processes on 127.0.0.1, the example
// function served and installed, until Ctrl-C or SIGTERM, or until a node dies.
func runDevnet(args []string, stdout, stderr io.Writer) error {
	cfg := defaultDevnetConfig()
	fs := commandFlags("devnet", "[flags]",
		"Run a local network on 127.0.0.1: one head and --workers workers as child processes, the\n"+
			"--wasm module served and installed as a function, until Ctrl-C. It prints how to call it\n"+
			"and writes <dir>/devnet.env once every node answers.", stdout)
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "number of worker nodes")
	fs.StringVar(&cfg.Dir, "dir", cfg.Dir, "directory for keys, workspaces, databases and logs (wiped at start)")
	fs.IntVar(&cfg.BasePort, "base-port", cfg.BasePort, "libp2p port of the head; worker k listens on base-port+k")
	fs.StringVar(&cfg.RestAPI, "rest-api", cfg.RestAPI, "address of the head's REST API")
	fs.IntVar(&cfg.MetricsBasePort, "metrics-base-port", cfg.MetricsBasePort, "metrics (and health) port of worker 1; worker k uses metrics-base-port+k-1")
	fs.IntVar(&cfg.DebugBasePort, "debug-base-port", cfg.DebugBasePort, "debug address port (/debug/actors, /metrics, pprof) of the head; worker k uses debug-base-port+k")
	fs.StringVar(&cfg.Wasm, "wasm", cfg.Wasm, "WebAssembly module to serve and install as the function")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level of the nodes")
	fs.DurationVar(&cfg.ReadyTimeout, "ready-timeout", cfg.ReadyTimeout, "how long to wait for the nodes to answer")
	fs.StringArrayVar(&cfg.NodeArgs, "node-arg", nil, "a `b7s run` flag for every node, e.g. --node-arg=--log-format=json (repeatable)")
	fs.StringArrayVar(&cfg.WorkerEnv, "worker-env", nil, "an environment variable for one worker, K:NAME=VALUE, e.g. --worker-env=2:B7S_PBFT_BYZANTINE=1 (repeatable)")
	fs.IntVar(&cfg.RecentMessages, "recent-messages", cfg.RecentMessages, "messages each node keeps per actor for its page and b7s trace (0: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return newDevnet(cfg, stdout, stderr).run(ctx)
}

// devnet is one run of the local network.
type devnet struct {
	cfg            devnetConfig
	stdout, stderr io.Writer
	exe            string
	nodes          []devnetNode
	children       []*child
	exited         chan *child
}

func newDevnet(cfg devnetConfig, stdout, stderr io.Writer) *devnet {
	return &devnet{cfg: cfg, stdout: stdout, stderr: stderr, exited: make(chan *child, cfg.Workers+1)}
}

func (d *devnet) run(ctx context.Context) (err error) {
	if d.exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	pkg, err := funcpack.PackFile(d.cfg.Wasm)
	if err != nil {
		return fmt.Errorf("%w (build it with `make examples`)", err)
	}
	if err := d.checkPortsFree(); err != nil {
		return err
	}
	if err := prepareDevnetDir(d.cfg.Dir); err != nil {
		return err
	}
	srv, err := funcpack.Serve(pkg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if d.nodes, err = planDevnet(d.cfg, srv.GatewayTemplate()); err != nil {
		return err
	}

	defer d.stop()
	for _, n := range d.nodes {
		c, err := startChild(n.Name, d.exe, n.args(), n.Env, n.LogPath, d.exited)
		if err != nil {
			return err
		}
		d.children = append(d.children, c)
	}
	if err := writePIDs(d.cfg.Dir, d.children); err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "b7s devnet: started 1 head and %d worker(s) in %s, waiting for them to answer…\n", d.cfg.Workers, d.cfg.Dir)

	// Waiting ends early when the user gives up or a node dies.
	waitCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case c := <-d.exited:
			d.exited <- c // the main loop reports it
			cancel(fmt.Errorf("%s stopped", c.Name))
		case <-waitCtx.Done():
		}
	}()
	if err := waitReady(waitCtx, d.cfg.ReadyTimeout, d.nodes); err != nil {
		if c := d.exitedChild(); c != nil {
			return d.childDied(c)
		}
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	installNote := installFunction(ctx, d.cfg.RestAPI, pkg.CID.String(), srv.ManifestURL(pkg))
	if err := writeDevnetEnv(d.cfg, pkg, srv.ManifestURL(pkg)); err != nil {
		return err
	}
	d.printReady(pkg, srv, installNote)

	select {
	case <-ctx.Done():
		fmt.Fprintln(d.stdout, "\nb7s devnet: stopping the nodes…")
		return nil
	case c := <-d.exited:
		return d.childDied(c)
	}
}

// exitedChild returns a child that has ended, or nil.
func (d *devnet) exitedChild() *child {
	select {
	case c := <-d.exited:
		return c
	default:
		return nil
	}
}

func (d *devnet) childDied(c *child) error {
	return fmt.Errorf("%s (pid %d) %v; stopping the network. Last lines of %s:\n%s",
		c.Name, c.PID(), c.exitError(), c.LogPath, logTail(c.LogPath, 15))
}

// stop stops every node and removes the files that describe the running network.
func (d *devnet) stop() {
	stopChildren(d.children)
	_ = os.Remove(filepath.Join(d.cfg.Dir, devnetPIDsFile))
	_ = os.Remove(filepath.Join(d.cfg.Dir, devnetEnvFile))
}

// checkPortsFree fails early, with the port named, rather than through a node's log.
func (d *devnet) checkPortsFree() error {
	addrs := []string{d.cfg.RestAPI}
	for i := 0; i <= d.cfg.Workers; i++ {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(d.cfg.BasePort+i)))
	}
	for k := 1; k <= d.cfg.Workers; k++ {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(d.cfg.MetricsBasePort+k-1)))
	}
	for i := 0; i <= d.cfg.Workers; i++ {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(d.cfg.DebugBasePort+i)))
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			return fmt.Errorf("port clash: %s is used twice; change --base-port, --metrics-base-port, --debug-base-port or --rest-api", a)
		}
		seen[a] = true
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("%s is not free (another devnet running?): %w", a, err)
		}
		ln.Close()
	}
	return nil
}
