package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/messages"
)

// Bounds of `b7s bench`: it is a tool for one machine, not a stress test of the world.
const (
	benchMaxRequests    = 1_000_000
	benchMaxConcurrency = 1024
	benchMaxDuration    = time.Hour
	benchWarmupClients  = 8 // at least this many warm-up requests at once
)

// benchConfig is one `b7s bench` run.
type benchConfig struct {
	API          string
	Function     string
	Method       string
	Nodes        int
	Consensus    string // consensus_algorithm of each request ("": none)
	Args         []string
	Stdin        string
	StdinSet     bool
	Requests     int
	Concurrency  int
	Duration     time.Duration // > 0: throughput mode
	MaxTime      time.Duration // bound on a sequential run
	Timeout      time.Duration // per request
	Warmup       int
	ExpectStdout string
	PIDs         string
	DevnetDir    string
	Label        string // names the run in --summary
	Summary      string // file the run's numbers are appended to, as one JSON line
}

func (c benchConfig) validate() error {
	if _, err := messages.ParseConsensus(c.Consensus); err != nil {
		return fmt.Errorf("--consensus: %w", err)
	}
	switch {
	case c.Function == "" || c.Method == "":
		return errors.New("--function and --method are required")
	case c.Nodes < 0:
		return fmt.Errorf("--nodes %d: must not be negative", c.Nodes)
	case c.Consensus != "" && c.Nodes < 1:
		return fmt.Errorf("--consensus %s needs --nodes: a cluster's size is fixed before it forms", c.Consensus)
	case c.Requests < 0 || c.Requests > benchMaxRequests:
		return fmt.Errorf("--requests %d: want 0 to %d", c.Requests, benchMaxRequests)
	case c.Concurrency < 1 || c.Concurrency > benchMaxConcurrency:
		return fmt.Errorf("--concurrency %d: want 1 to %d", c.Concurrency, benchMaxConcurrency)
	case c.Duration < 0 || c.Duration > benchMaxDuration:
		return fmt.Errorf("--duration %v: want 0 to %v", c.Duration, benchMaxDuration)
	case c.Duration == 0 && c.Requests == 0:
		return errors.New("give --requests N (sequential) or --duration D (throughput)")
	case c.Duration == 0 && c.Concurrency > 1:
		return errors.New("--concurrency needs --duration (throughput mode); --requests alone runs one request at a time")
	case c.MaxTime <= 0 || c.MaxTime > benchMaxDuration:
		return fmt.Errorf("--max-time %v: want more than 0, at most %v", c.MaxTime, benchMaxDuration)
	case c.Timeout <= 0:
		return fmt.Errorf("--timeout %v: must be positive", c.Timeout)
	case c.Warmup < 0 || c.Warmup > 1000:
		return fmt.Errorf("--warmup %d: want 0 to 1000", c.Warmup)
	case c.PIDs != "" && c.DevnetDir != "":
		return errors.New("give --pids or --devnet, not both")
	}
	return nil
}

// runBench is `b7s bench`: a bounded load generator against a head's REST API on 127.0.0.1.
func runBench(args []string, stdout io.Writer) error {
	cfg := benchConfig{API: "http://127.0.0.1:8080", Concurrency: 1, MaxTime: 30 * time.Minute, Timeout: time.Minute, Warmup: 1}
	fs := commandFlags("bench", "--api URL --function CID --method M [--nodes N] (--requests N | --concurrency C --duration D) [flags]",
		"Send execute requests to a head on 127.0.0.1 and report throughput, latency and, with --pids\n"+
			"or --devnet, the nodes' CPU time and memory. With --requests alone the requests go one at a\n"+
			"time; with --duration, --concurrency clients send back to back.", stdout)
	fs.StringVar(&cfg.API, "api", cfg.API, "the head's REST API (127.0.0.1 only)")
	fs.StringVar(&cfg.Function, "function", "", "function CID")
	fs.StringVar(&cfg.Method, "method", "", "method (the module's file name, e.g. hello.wasm)")
	fs.IntVar(&cfg.Nodes, "nodes", 0, "number_of_nodes of each request (0: not set, the head's default)")
	fs.StringVar(&cfg.Consensus, "consensus", "", "consensus_algorithm of each request: raft or pbft (empty: none)")
	fs.StringArrayVar(&cfg.Args, "arg", nil, "argument passed to the function (repeatable)")
	fs.StringVar(&cfg.Stdin, "stdin", "", "standard input of the function")
	fs.IntVar(&cfg.Requests, "requests", 0, "sequential mode: number of requests; throughput mode: cap on the total (0: none)")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "throughput mode: clients sending at once")
	fs.DurationVar(&cfg.Duration, "duration", 0, "throughput mode: how long the clients send (0: sequential mode)")
	fs.DurationVar(&cfg.MaxTime, "max-time", cfg.MaxTime, "stop a sequential run (and the warm-up) after this long even if requests remain")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "timeout of one request")
	fs.IntVar(&cfg.Warmup, "warmup", cfg.Warmup, "requests sent first, several at a time, and left out of the numbers (install, compilation)")
	fs.StringVar(&cfg.ExpectStdout, "expect-stdout", "", "count a response as an error unless every result's stdout contains this")
	fs.StringVar(&cfg.PIDs, "pids", "", "comma-separated process IDs to sample CPU time and RSS of")
	fs.StringVar(&cfg.DevnetDir, "devnet", "", "sample the processes of the devnet running in this directory (its pids file)")
	fs.StringVar(&cfg.Summary, "summary", "", "append the run's numbers to this file as one JSON line")
	fs.StringVar(&cfg.Label, "label", "", "name of the run in --summary (default: the mode)")
	table := fs.String("table", "", "print the runs of a --summary file as one table, and run nothing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *table != "" {
		f, err := os.Open(*table)
		if err != nil {
			return err
		}
		defer f.Close()
		runs, err := readSummaries(f)
		if err != nil {
			return fmt.Errorf("%s: %w", *table, err)
		}
		return writeSummaryTable(stdout, runs)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.StdinSet = fs.Changed("stdin")
	if err := cfg.validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return benchRun(ctx, cfg, stdout)
}

func benchRun(ctx context.Context, cfg benchConfig, stdout io.Writer) error {
	api, err := loopbackAPI(cfg.API)
	if err != nil {
		return err
	}
	procs, err := benchProcesses(cfg)
	if err != nil {
		return err
	}
	target := benchTarget{
		Client:       client.New(api.String(), client.WithHTTPClient(newBenchClient(cfg.Concurrency)), client.WithTimeout(cfg.Timeout)),
		Request:      benchRequest(cfg),
		ExpectStdout: cfg.ExpectStdout,
		Timeout:      cfg.Timeout,
	}
	fmt.Fprintf(stdout, "b7s bench: %s; function %s method %s %s at %s\n", describeMode(cfg), cfg.Function, cfg.Method, describeNodes(cfg.Nodes), target.Client.Base())

	if cfg.Warmup > 0 {
		// Warm-up requests go out several at a time (even before a sequential run), so that with
		// --nodes 1 they reach, and compile the module on, more than the fastest worker.
		start := time.Now()
		warm := runConcurrent(ctx, target, min(cfg.Warmup, max(cfg.Concurrency, benchWarmupClients)), cfg.MaxTime, cfg.Warmup)
		failed := 0
		for _, o := range warm {
			if o.Err != "" {
				failed++
				fmt.Fprintf(stdout, "  warm-up request failed: %s: %s\n", o.Err, o.Detail)
			}
		}
		fmt.Fprintf(stdout, "  warm-up    %d request(s) in %v, %d failed (not counted)\n", len(warm), time.Since(start).Round(time.Millisecond), failed)
	}

	before, err := sampleAll(procs)
	if err != nil {
		return err
	}
	rss := startRSSSampler(procs, rssSampleInterval)
	start := time.Now()
	var outcomes []benchOutcome
	if cfg.Duration > 0 {
		maxRequests := benchMaxRequests
		if cfg.Requests > 0 {
			maxRequests = cfg.Requests
		}
		outcomes = runConcurrent(ctx, target, cfg.Concurrency, cfg.Duration, maxRequests)
	} else {
		outcomes = runSequential(ctx, target, cfg.Requests, cfg.MaxTime)
	}
	elapsed := time.Since(start)
	rssAvg, rssMax := rss.finish()
	after, err := sampleAll(procs)
	if err != nil {
		return err
	}

	summary := reportBench(stdout, outcomes, elapsed, procs, processRun{before: before, after: after, rssAvg: rssAvg, rssMax: rssMax})
	summary.Label, summary.Mode = cfg.Label, describeMode(cfg)
	if summary.Label == "" {
		summary.Label = summary.Mode
	}
	if cfg.Summary != "" {
		if err := appendSummary(cfg.Summary, summary); err != nil {
			return err
		}
	}
	failures := summary.Sent - summary.OK
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if failures > 0 {
		return fmt.Errorf("%d of %d requests failed", failures, len(outcomes))
	}
	return nil
}

// benchRequest is the REST body every request sends.
func benchRequest(cfg benchConfig) messages.ExecutionRequest {
	req := messages.ExecutionRequest{FunctionID: cfg.Function, Method: cfg.Method}
	for _, a := range cfg.Args {
		req.Parameters = append(req.Parameters, messages.Parameter{Value: a})
	}
	if cfg.StdinSet {
		stdin := cfg.Stdin
		req.Config.Stdin = &stdin
	}
	req.Config.NumberOfNodes = cfg.Nodes
	req.Config.ConsensusAlgorithm = cfg.Consensus
	return req
}

func benchProcesses(cfg benchConfig) ([]benchProcess, error) {
	switch {
	case cfg.DevnetDir != "":
		return readDevnetPIDs(cfg.DevnetDir)
	case cfg.PIDs != "":
		return parsePIDList(cfg.PIDs)
	}
	return nil, nil
}

func sampleAll(procs []benchProcess) ([]procSample, error) {
	samples := make([]procSample, len(procs))
	for i, p := range procs {
		s, err := sampleProc(p.PID)
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", p.Name, err)
		}
		samples[i] = s
	}
	return samples, nil
}

func describeMode(cfg benchConfig) string {
	if cfg.Duration > 0 {
		s := fmt.Sprintf("%d client(s) for %v", cfg.Concurrency, cfg.Duration)
		if cfg.Requests > 0 {
			s += fmt.Sprintf(" (at most %d requests)", cfg.Requests)
		}
		return s
	}
	return fmt.Sprintf("%d sequential request(s)", cfg.Requests)
}

func describeNodes(n int) string {
	if n == 0 {
		return "(number_of_nodes not set)"
	}
	return fmt.Sprintf("(--nodes %d)", n)
}

// processRun is what the bench saw of the nodes' processes over a run.
type processRun struct {
	before, after  []procSample
	rssAvg, rssMax []uint64 // KB, sampled every rssSampleInterval
}

// reportBench prints the numbers and returns them as a summary.
func reportBench(w io.Writer, outcomes []benchOutcome, elapsed time.Duration, procs []benchProcess, pr processRun) benchSummary {
	var ok []time.Duration
	classes := map[string]int{}
	details := map[string]string{}
	for _, o := range outcomes {
		if o.Err == "" {
			ok = append(ok, o.Latency)
			continue
		}
		classes[o.Err]++
		if _, seen := details[o.Err]; !seen {
			details[o.Err] = o.Detail
		}
	}
	failed := len(outcomes) - len(ok)
	lat := summarize(ok)
	summary := benchSummary{Sent: len(outcomes), OK: len(ok), Seconds: elapsed.Seconds(), RPS: rate(len(outcomes), elapsed),
		P50: lat.P50, P90: lat.P90, P99: lat.P99}
	fmt.Fprintf(w, "  requests   %d sent, %d ok, %d errors in %v: %.1f req/s (ok: %.1f req/s)\n",
		len(outcomes), len(ok), failed, elapsed.Round(time.Millisecond), rate(len(outcomes), elapsed), rate(len(ok), elapsed))
	if lat.N > 0 {
		fmt.Fprintf(w, "  latency    p50 %v  p90 %v  p99 %v  max %v  (min %v, mean %v; successful requests)\n",
			roundLatency(lat.P50), roundLatency(lat.P90), roundLatency(lat.P99), roundLatency(lat.Max), roundLatency(lat.Min), roundLatency(lat.Mean))
	}
	if failed > 0 {
		names := make([]string, 0, len(classes))
		for c := range classes {
			names = append(names, c)
		}
		sort.Slice(names, func(i, j int) bool { return classes[names[i]] > classes[names[j]] })
		fmt.Fprintln(w, "  errors")
		for _, c := range names {
			fmt.Fprintf(w, "    %6d  %s: %s\n", classes[c], c, details[c])
		}
	}
	if len(procs) > 0 {
		fmt.Fprintf(w, "  processes  CPU = utime+stime over the run (%d Hz ticks), per request over %d request(s); RSS = VmRSS, avg and max sampled every %v\n",
			clockTicksPerSecond, len(outcomes), rssSampleInterval)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tname\tpid\tcpu ms\tcpu ms/req\tcpu %\trss before\trss avg\trss max\trss after\t")
		for i, p := range procs {
			ms := ticksToMillis(pr.after[i].CPUTicks - pr.before[i].CPUTicks)
			perReq := 0.0
			if len(outcomes) > 0 {
				perReq = ms / float64(len(outcomes))
			}
			fmt.Fprintf(tw, "\t%s\t%d\t%.0f\t%.3f\t%.1f\t%s\t%s\t%s\t%s\t\n", p.Name, p.PID, ms, perReq,
				100*ms/float64(max(elapsed.Milliseconds(), 1)), formatKB(pr.before[i].RSSKB), formatKB(pr.rssAvg[i]),
				formatKB(pr.rssMax[i]), formatKB(pr.after[i].RSSKB))
			summary.Processes = append(summary.Processes, processSummary{Name: p.Name, CPUPerReq: perReq,
				RSSAvgKB: pr.rssAvg[i], RSSMaxKB: pr.rssMax[i]})
		}
		tw.Flush()
	}
	return summary
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func formatKB(kb uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
}
