package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/fstore/funcpack"
	"github.com/b7s-actor/b7s/messages"
)

// soakConfig is one `b7s soak`: a devnet under load while its nodes are killed, paused and
// restarted, checking the node's promises at the end.
type soakConfig struct {
	devnet      devnetConfig
	Requests    int
	Concurrency int
	Seed        uint64
	Timeout     int           // seconds: each request's roll-call and gather deadlines
	Overrun     time.Duration // how late past its deadline an answer may come
	MaxTime     time.Duration // the whole run, start to report
	Slack       int           // goroutines a node may keep above its idle count afterwards
	Faults      bool          // false: the same load on a healthy network, to compare with
	// Echo: each request's stdin is its own ("soak-<index>"), and every result that exited 0
	// must print it back (the example does), so a result given to the wrong request shows.
	Echo bool
}

func defaultSoakConfig() soakConfig {
	d := defaultDevnetConfig()
	d.Workers, d.Dir, d.BasePort, d.RestAPI, d.MetricsBasePort, d.DebugBasePort = 3, ".soak", 29527, "127.0.0.1:28080", 29100, 29160
	d.Wasm, d.LogLevel = filepath.Join("bin", "examples", "tiny.wasm"), "warn"
	return soakConfig{devnet: d, Requests: 10_000, Concurrency: 32, Seed: 1, Timeout: 5,
		Overrun: 2 * time.Second, MaxTime: 2 * time.Minute, Slack: 50, Faults: true, Echo: true}
}

func (c soakConfig) validate() error {
	switch {
	case c.Requests < 1 || c.Requests > benchMaxRequests:
		return fmt.Errorf("--requests %d: want 1 to %d", c.Requests, benchMaxRequests)
	case c.Concurrency < 1 || c.Concurrency > benchMaxConcurrency:
		return fmt.Errorf("--concurrency %d: want 1 to %d", c.Concurrency, benchMaxConcurrency)
	case c.devnet.Workers < 2:
		return fmt.Errorf("--workers %d: the faults need at least 2", c.devnet.Workers)
	case c.Timeout < 1 || c.Timeout > 60:
		return fmt.Errorf("--timeout %d: want 1 to 60 seconds", c.Timeout)
	case c.MaxTime <= 0 || c.MaxTime > benchMaxDuration:
		return fmt.Errorf("--max-time %v: want more than 0, at most %v", c.MaxTime, benchMaxDuration)
	}
	return c.devnet.validate()
}

// runSoak is `b7s soak`.
func runSoak(args []string, stdout io.Writer) error {
	cfg := defaultSoakConfig()
	fs := commandFlags("soak", "[flags]",
		"Run a devnet on 127.0.0.1 under load while, at reproducible times (--seed), a worker is\n"+
			"killed (SIGKILL) and restarted with its key and database, another is stopped (SIGSTOP)\n"+
			"for a few seconds, and the head is restarted once. Then report answers, latency, and each\n"+
			"node's goroutines, open files and memory before, at the peak and after, and exit non-zero\n"+
			"when a promise failed: a request the head accepted without exactly one answer, an answer\n"+
			"far past its deadline, or a node that kept what the load gave it.", stdout)
	fs.IntVar(&cfg.Requests, "requests", cfg.Requests, "requests to send")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "clients sending at once")
	fs.IntVar(&cfg.devnet.Workers, "workers", cfg.devnet.Workers, "worker nodes")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the request mix and the faults")
	fs.IntVar(&cfg.Timeout, "timeout", cfg.Timeout, "each request's timeout in seconds (roll call and gathering)")
	fs.BoolVar(&cfg.Faults, "faults", cfg.Faults, "inject the faults (--faults=false: the same load on a healthy network)")
	fs.BoolVar(&cfg.Echo, "echo", cfg.Echo, "give each request its own stdin and require every result that exited 0 to print it (--echo=false for a --wasm that does not)")
	fs.DurationVar(&cfg.MaxTime, "max-time", cfg.MaxTime, "bound on the whole run")
	fs.StringVar(&cfg.devnet.Dir, "dir", cfg.devnet.Dir, "directory of the devnet (wiped at start)")
	fs.StringVar(&cfg.devnet.Wasm, "wasm", cfg.devnet.Wasm, "function to run")
	fs.IntVar(&cfg.devnet.BasePort, "base-port", cfg.devnet.BasePort, "libp2p port of the head; worker k listens on base-port+k")
	fs.StringVar(&cfg.devnet.RestAPI, "rest-api", cfg.devnet.RestAPI, "the head's REST API")
	fs.IntVar(&cfg.devnet.MetricsBasePort, "metrics-base-port", cfg.devnet.MetricsBasePort, "HTTP port of worker 1; worker k uses metrics-base-port+k-1")
	fs.IntVar(&cfg.devnet.DebugBasePort, "debug-base-port", cfg.devnet.DebugBasePort, "debug address port (/metrics, sampled) of the head; worker k uses debug-base-port+k")
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
	ctx, cancel := context.WithTimeout(ctx, cfg.MaxTime)
	defer cancel()
	s := &soak{cfg: cfg, out: stdout, exited: make(chan *child, 4*(cfg.devnet.Workers+1))}
	return s.run(ctx)
}

// soak is one run.
type soak struct {
	cfg    soakConfig
	out    io.Writer
	exe    string
	nodes  []devnetNode
	mu     sync.Mutex
	procs  map[string]*child // node name -> its current process
	exited chan *child
	// headDown marks when the head was being restarted: a request lost on a connection it
	// closed then was never read by it, so it is owed no answer.
	headDown struct {
		sync.Mutex
		from, to time.Time
	}
}

// soakAnswer is what one request got.
type soakAnswer struct {
	status   string // HTTP status or why there is none
	code     messages.Code
	id       string
	took     time.Duration
	deadline time.Duration
	refused  int  // times the head did not accept it (while it restarted) before it did
	lost     bool // accepted, no answer
	sent     time.Time
	// wrongOutput describes a result that exited 0 without its request's stdin in its stdout.
	wrongOutput string
}

// wrongEcho returns what is wrong with resp when one of its results exited 0 without printing
// stdin (see soakConfig.Echo), or "".
func wrongEcho(resp messages.ExecutionResponse, stdin string) string {
	for _, r := range resp.Results {
		if r.Result.ExitCode == 0 && !strings.HasSuffix(strings.TrimRight(r.Result.Stdout, "\n"), "stdin: "+stdin) {
			return fmt.Sprintf("request %s (stdin %q): a result printed %q", resp.RequestID, stdin, r.Result.Stdout)
		}
	}
	return ""
}

func (s *soak) run(ctx context.Context) (err error) {
	if s.exe, err = os.Executable(); err != nil {
		return err
	}
	pkg, err := funcpack.PackFile(s.cfg.devnet.Wasm)
	if err != nil {
		return fmt.Errorf("%w (build it with `make examples`)", err)
	}
	if err := prepareDevnetDir(s.cfg.devnet.Dir); err != nil {
		return err
	}
	srv, err := funcpack.Serve(pkg)
	if err != nil {
		return err
	}
	defer srv.Close()
	if s.nodes, err = planDevnet(s.cfg.devnet, srv.GatewayTemplate()); err != nil {
		return err
	}
	s.procs = make(map[string]*child)
	defer s.stopAll()
	for _, n := range s.nodes {
		if err := s.start(n); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.out, "b7s soak: 1 head and %d workers in %s, seed %d\n", s.cfg.devnet.Workers, s.cfg.devnet.Dir, s.cfg.Seed)
	if err := waitReady(ctx, s.cfg.devnet.ReadyTimeout, s.nodes); err != nil {
		return err
	}
	api := client.New(s.cfg.devnet.RestAPI, client.WithTimeout(time.Minute))
	installFunction(ctx, s.cfg.devnet.RestAPI, pkg.CID.String(), srv.ManifestURL(pkg))
	req := messages.ExecutionRequest{FunctionID: pkg.CID.String(), Method: pkg.Name,
		Config: messages.Config{NumberOfNodes: s.cfg.devnet.Workers, Timeout: s.cfg.Timeout}}
	if err := s.warmUp(ctx, api, req); err != nil {
		return err
	}
	before := s.sampleAll(ctx)
	peak := newSoakPeak()
	stopSampling := s.sampleWhile(ctx, peak)

	// One generator each for the faults and the load, which run at once: a seed gives the same
	// fault plan and the same requests every time.
	faultRng := rand.New(rand.NewPCG(s.cfg.Seed, s.cfg.Seed^0x9e3779b97f4a7c15))
	loadRng := rand.New(rand.NewPCG(s.cfg.Seed, s.cfg.Seed^0x6a09e667f3bcc908))
	answers := make([]soakAnswer, s.cfg.Requests)
	var done atomic.Int64
	faults := make(chan error, 1)
	go func() {
		if !s.cfg.Faults {
			faults <- nil
			return
		}
		faults <- s.faults(ctx, faultRng, &done)
	}()
	start := time.Now()
	s.load(ctx, api, req, loadRng, answers, &done)
	elapsed := time.Since(start)
	faultErr := <-faults
	stopSampling()
	after := s.settle(ctx, before)
	failures := s.report(answers, elapsed, before, peak, after)
	if faultErr != nil {
		failures = append(failures, "faults: "+faultErr.Error())
	}
	if ctx.Err() != nil {
		failures = append(failures, fmt.Sprintf("the run did not finish within --max-time %v", s.cfg.MaxTime))
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d promise(s) failed:\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	fmt.Fprintln(s.out, "\nb7s soak: every promise held")
	return nil
}

func (s *soak) start(n devnetNode) error {
	c, err := startChild(n.Name, s.exe, n.args(), n.Env, n.LogPath+"."+strconv.FormatInt(time.Now().UnixNano(), 36), s.exited)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.procs[n.Name] = c
	s.mu.Unlock()
	return nil
}

func (s *soak) proc(name string) *child {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[name]
}

func (s *soak) stopAll() {
	s.mu.Lock()
	var all []*child
	for _, c := range s.procs {
		_ = c.cmd.Process.Signal(syscall.SIGCONT) // a stopped process cannot stop
		all = append(all, c)
	}
	s.mu.Unlock()
	stopChildren(all)
}

// warmUp sends requests to every worker until they succeed: the function is installed and
// compiled everywhere before anything is measured.
func (s *soak) warmUp(ctx context.Context, api *client.Client, req messages.ExecutionRequest) error {
	for range 60 {
		resp, err := api.Execute(ctx, req)
		if err == nil && resp.Code == messages.CodeOK {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(250 * time.Millisecond) // the mesh forms on its own heartbeat
	}
	return errors.New("warm-up: the network never ran the function on every worker")
}

// load sends the requests from Concurrency clients, a reproducible mix of node counts.
func (s *soak) load(ctx context.Context, api *client.Client, base messages.ExecutionRequest, rng *rand.Rand, answers []soakAnswer, done *atomic.Int64) {
	counts := make([]int, len(answers))
	for i := range counts {
		counts[i] = []int{0, 1, 2}[rng.IntN(3)] // 0: number_of_nodes not set
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range s.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(answers) {
					return
				}
				req := base
				req.Config.NumberOfNodes = counts[i]
				if s.cfg.Echo {
					stdin := fmt.Sprintf("soak-%d", i)
					req.Config.Stdin = &stdin
				}
				answers[i] = s.send(ctx, api, req)
				done.Add(1)
			}
		})
	}
	wg.Wait()
}

// send sends one request and, while the head is down or draining (a refused dial, a connection
// the stopping head closed unread, a 503 with Retry-After), sends it again as a client would:
// after the Retry-After, or every 50 ms, for at most a minute in all. A request the head never
// accepted is owed no answer, the one it accepts is.
func (s *soak) send(ctx context.Context, api *client.Client, req messages.ExecutionRequest) soakAnswer {
	a := soakAnswer{deadline: 2 * time.Duration(s.cfg.Timeout) * time.Second}
	giveUp := time.Now().Add(time.Minute)
	for range 1200 {
		a.sent = time.Now()
		resp, err := api.Execute(ctx, req)
		a.took = time.Since(a.sent)
		wait := 50 * time.Millisecond
		var httpErr *client.Error
		switch {
		case err == nil:
			a.status, a.code, a.id = "200 OK", resp.Code, resp.RequestID
			if req.Config.Stdin != nil {
				a.wrongOutput = wrongEcho(resp, *req.Config.Stdin)
			}
			return a
		case errors.As(err, &httpErr) && httpErr.Status == http.StatusServiceUnavailable && httpErr.RetryAfter > 0:
			// The head is draining: it took nothing, and says when to come back.
			a.refused++
			wait = min(httpErr.RetryAfter, time.Until(giveUp))
		case errors.As(err, &httpErr):
			a.status = strconv.Itoa(httpErr.Status)
			return a
		case refusedByDial(err) || s.duringHeadRestart(a.sent):
			a.refused++
		default:
			a.status, a.lost = "no answer: "+err.Error(), true
			return a
		}
		if !time.Now().Before(giveUp) {
			break
		}
		select {
		case <-ctx.Done():
			a.status, a.lost = "no answer: "+ctx.Err().Error(), true
			return a
		case <-time.After(wait):
		}
	}
	a.status, a.lost = "never accepted: the head stayed down", true
	return a
}

func refusedByDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func (s *soak) duringHeadRestart(t time.Time) bool {
	s.headDown.Lock()
	defer s.headDown.Unlock()
	return !s.headDown.from.IsZero() && !t.Before(s.headDown.from.Add(-time.Second)) &&
		(s.headDown.to.IsZero() || !t.After(s.headDown.to))
}

// faults kills and restarts a worker, stops another for a while, and restarts the head, each
// when a share of the requests is answered; which worker and how long come from the seed.
func (s *soak) faults(ctx context.Context, rng *rand.Rand, done *atomic.Int64) error {
	workers := s.nodes[1:]
	killed := workers[rng.IntN(len(workers))]
	paused := workers[rng.IntN(len(workers))]
	for paused.Name == killed.Name {
		paused = workers[rng.IntN(len(workers))]
	}
	pause := time.Duration(2000+rng.IntN(2000)) * time.Millisecond
	at := func(share float64) bool {
		n := int64(share * float64(s.cfg.Requests))
		for done.Load() < n {
			if ctx.Err() != nil {
				return false
			}
			time.Sleep(20 * time.Millisecond) // progress has no event to wait on; bounded by ctx
		}
		return true
	}
	if !at(0.15) {
		return nil
	}
	fmt.Fprintf(s.out, "  fault: kill -9 %s, restart with its key and database\n", killed.Name)
	if err := s.kill(killed.Name, syscall.SIGKILL); err != nil {
		return err
	}
	if err := s.start(killed); err != nil {
		return err
	}
	if !at(0.40) {
		return nil
	}
	fmt.Fprintf(s.out, "  fault: SIGSTOP %s for %v, then SIGCONT\n", paused.Name, pause)
	p := s.proc(paused.Name)
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	select {
	case <-time.After(pause):
	case <-ctx.Done():
	}
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	if !at(0.70) {
		return nil
	}
	fmt.Fprintln(s.out, "  fault: restart the head (SIGTERM, then start it again)")
	s.headDown.Lock()
	s.headDown.from = time.Now()
	s.headDown.Unlock()
	if err := s.kill("head", syscall.SIGTERM); err != nil {
		return err
	}
	if err := s.start(s.nodes[0]); err != nil {
		return err
	}
	err := waitReady(ctx, s.cfg.devnet.ReadyTimeout, s.nodes[:1])
	s.headDown.Lock()
	s.headDown.to = time.Now()
	s.headDown.Unlock()
	return err
}

// kill sends sig to a node and waits for it to end (SIGTERM: up to stopGrace, then SIGKILL).
func (s *soak) kill(name string, sig syscall.Signal) error {
	c := s.proc(name)
	if sig == syscall.SIGTERM {
		c.stop(stopGrace)
		return nil
	}
	if err := c.cmd.Process.Signal(sig); err != nil {
		return err
	}
	<-c.done
	return nil
}

// soakSample is one node's state at one moment.
type soakSample struct {
	Goroutines int
	FDs        int
	RSSKB      uint64
	Executions int // since the process started
}

func (s *soak) sampleAll(ctx context.Context) map[string]soakSample {
	out := make(map[string]soakSample, len(s.nodes))
	for _, n := range s.nodes {
		if smp, err := s.sample(ctx, n); err == nil {
			out[n.Name] = smp
		}
	}
	return out
}

func (s *soak) sample(ctx context.Context, n devnetNode) (soakSample, error) {
	c := s.proc(n.Name)
	pid := c.PID()
	ps, err := sampleProc(pid)
	if err != nil {
		return soakSample{}, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return soakSample{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	text, err := client.New(n.Debug).Metrics(ctx)
	if err != nil {
		return soakSample{}, err
	}
	smp := soakSample{FDs: len(fds), RSSKB: ps.RSSKB}
	for _, line := range strings.Split(text, "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
		switch metric, _, _ := strings.Cut(name, "{"); metric {
		case "go_goroutines":
			smp.Goroutines = int(f)
		case "b7s_executor_function_executions":
			smp.Executions += int(f)
		}
	}
	return smp, nil
}

// soakPeak keeps each node's largest sample.
type soakPeak struct {
	mu  sync.Mutex
	max map[string]soakSample
}

func newSoakPeak() *soakPeak { return &soakPeak{max: make(map[string]soakSample)} }

func (p *soakPeak) add(name string, s soakSample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.max[name]
	p.max[name] = soakSample{Goroutines: max(m.Goroutines, s.Goroutines), FDs: max(m.FDs, s.FDs), RSSKB: max(m.RSSKB, s.RSSKB)}
}

// sampleWhile samples every node every 250 ms until the returned stop is called.
func (s *soak) sampleWhile(ctx context.Context, peak *soakPeak) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(250 * time.Millisecond)
		defer ticker.Stop()
		for {
			for name, smp := range s.sampleAll(ctx) {
				peak.add(name, smp)
			}
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	return func() { close(quit); <-done }
}

// settle waits, for at most 30 s, until every node is back near its idle goroutine count, and
// returns the last samples.
func (s *soak) settle(ctx context.Context, before map[string]soakSample) map[string]soakSample {
	deadline := time.Now().Add(30 * time.Second)
	for {
		after := s.sampleAll(ctx)
		calm := true
		for name, b := range before {
			if a, ok := after[name]; !ok || a.Goroutines > b.Goroutines+s.cfg.Slack {
				calm = false
			}
		}
		if calm || time.Now().After(deadline) || ctx.Err() != nil {
			return after
		}
		time.Sleep(500 * time.Millisecond) // winding down has no event to wait on
	}
}

// report prints the run and returns the promises that failed.
func (s *soak) report(answers []soakAnswer, elapsed time.Duration, before map[string]soakSample, peak *soakPeak, after map[string]soakSample) []string {
	var failures []string
	statuses := map[string]int{}
	ids := map[string]int{}
	var lats []time.Duration
	var overrun time.Duration
	unanswered, refused, sent := 0, 0, 0
	var wrongOutputs []string
	for _, a := range answers {
		if a.status == "" {
			continue // never sent: the run was cut short
		}
		sent++
		key := a.status
		if a.code != "" {
			key += " code " + string(a.code)
		}
		statuses[key]++
		refused += a.refused
		switch {
		case a.lost:
			unanswered++
		default:
			lats = append(lats, a.took)
			overrun = max(overrun, a.took-a.deadline)
			if a.id != "" {
				ids[a.id]++
			}
			if a.wrongOutput != "" {
				wrongOutputs = append(wrongOutputs, a.wrongOutput)
			}
		}
	}
	duplicates := 0
	for _, n := range ids {
		if n > 1 {
			duplicates += n - 1
		}
	}
	lat := summarize(lats)
	w := s.out
	fmt.Fprintf(w, "\nrequests   %d sent in %v (%.0f req/s); %d attempts refused while the head drained or restarted, then sent again\n", sent, elapsed.Round(time.Millisecond), rate(sent, elapsed), refused)
	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %6d  %s\n", statuses[k], k)
	}
	fmt.Fprintf(w, "without an answer  %d (must be 0)\nduplicates        %d (must be 0)\n", unanswered, duplicates)
	if s.cfg.Echo {
		fmt.Fprintf(w, "wrong output      %d (must be 0; every result that exited 0 printed its own request's stdin)\n", len(wrongOutputs))
	}
	fmt.Fprintf(w, "latency    p50 %v  p99 %v  max %v; latest answer past its deadline: %v\n",
		roundLatency(lat.P50), roundLatency(lat.P99), roundLatency(lat.Max), max(overrun, 0).Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\nnode\tgoroutines idle\tpeak\tafter\tfds idle\tpeak\tafter\trss idle\tpeak\tafter\t")
	for _, n := range s.nodes {
		b, p, a := before[n.Name], peak.max[n.Name], after[n.Name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", n.Name, b.Goroutines, p.Goroutines, a.Goroutines,
			b.FDs, p.FDs, a.FDs, formatKB(b.RSSKB), formatKB(p.RSSKB), formatKB(a.RSSKB))
		if a.Goroutines > b.Goroutines+s.cfg.Slack {
			failures = append(failures, fmt.Sprintf("%s kept %d goroutines after the load, %d before", n.Name, a.Goroutines, b.Goroutines))
		}
		if n.Role == actors.RoleWorker && a.Executions == 0 {
			failures = append(failures, fmt.Sprintf("%s ran nothing since it (re)started: it did not come back into service", n.Name))
		}
		if a.FDs > b.FDs+s.cfg.Slack {
			failures = append(failures, fmt.Sprintf("%s kept %d open files after the load, %d before", n.Name, a.FDs, b.FDs))
		}
	}
	tw.Flush()
	if unanswered > 0 {
		failures = append(failures, fmt.Sprintf("%d accepted requests got no answer", unanswered))
	}
	if duplicates > 0 {
		failures = append(failures, fmt.Sprintf("%d answers repeated a request ID", duplicates))
	}
	if len(wrongOutputs) > 0 {
		failures = append(failures, fmt.Sprintf("%d answers carried a result that is not their request's, the first: %s", len(wrongOutputs), wrongOutputs[0]))
	}
	if overrun > s.cfg.Overrun {
		failures = append(failures, fmt.Sprintf("an answer came %v past its deadline (bound %v)", overrun.Round(time.Millisecond), s.cfg.Overrun))
	}
	return failures
}
