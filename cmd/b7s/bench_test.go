package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/api/client"
)

func TestPercentile_NearestRankOnKnownSet(t *testing.T) {
	// 1ms…100ms, shuffled: the nearest-rank p-th percentile is p ms.
	var set []time.Duration
	for i := 100; i >= 1; i-- {
		set = append(set, time.Duration(i)*time.Millisecond)
	}
	s := summarize(set)
	want := latencySummary{N: 100, Min: time.Millisecond, Mean: 50500 * time.Microsecond, Max: 100 * time.Millisecond,
		P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond}
	if s != want {
		t.Errorf("summarize(1..100ms) = %+v, want %+v", s, want)
	}
	if set[0] != 100*time.Millisecond {
		t.Error("summarize sorted the caller's slice")
	}
}

func TestPercentile_SmallSetsPickMeasuredValues(t *testing.T) {
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {90, 9}, {99, 10}, {100, 10}, {0, 1}} {
		if got := percentile(ten, c.p); got != c.want {
			t.Errorf("p%v of 1..10 = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("p99 of one value = %v, want 7", got)
	}
	if got := summarize(nil); got != (latencySummary{}) {
		t.Errorf("summarize(nil) = %+v, want zero", got)
	}
}

func TestRate_RequestsPerSecond(t *testing.T) {
	if got := rate(500, 2*time.Second); got != 250 {
		t.Errorf("rate(500, 2s) = %v, want 250", got)
	}
	if got := rate(5, 0); got != 0 {
		t.Errorf("rate over no time = %v, want 0", got)
	}
}

func TestParseStatCPU_CountsFieldsAfterTheCommandName(t *testing.T) {
	// A command name with spaces and a ')' must not shift the fields; utime=1234, stime=56.
	stat := "4242 (b7s (run) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 56 0 0 20 0 12 0 100 800000000 9000 18446744073709551615\n"
	got, err := parseStatCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if got != 1290 {
		t.Errorf("utime+stime = %d, want 1290", got)
	}
	if _, err := parseStatCPU([]byte("4242 (b7s) S 1")); err == nil {
		t.Error("a truncated stat line was accepted")
	}
	if ms := ticksToMillis(150); ms != 1500 {
		t.Errorf("150 ticks = %v ms, want 1500", ms)
	}
}

func TestParseStatusKB_ReadsVmRSS(t *testing.T) {
	status := "Name:\tb7s\nVmPeak:\t  900000 kB\nVmRSS:\t   40960 kB\nThreads:\t12\n"
	got, err := parseStatusKB([]byte(status), "VmRSS")
	if err != nil || got != 40960 {
		t.Errorf("VmRSS = %d, %v; want 40960", got, err)
	}
	if _, err := parseStatusKB([]byte("Name:\tb7s\n"), "VmRSS"); err == nil {
		t.Error("a status without VmRSS was accepted")
	}
}

func TestReadDevnetPIDs_ReadsWhatDevnetWrites(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, devnetPIDsFile), []byte("head 10\nworker1 11\n\nworker2 12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readDevnetPIDs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []benchProcess{{"head", 10}, {"worker1", 11}, {"worker2", 12}}
	if !slices.Equal(got, want) {
		t.Errorf("pids = %v, want %v", got, want)
	}
	if _, err := readDevnetPIDs(t.TempDir()); err == nil || !strings.Contains(err.Error(), "devnet running") {
		t.Errorf("missing pids file: err = %v, want a hint that the devnet is not running", err)
	}
	if _, err := parsePIDList("12,abc"); err == nil {
		t.Error("--pids 12,abc was accepted")
	}
}

func TestLoopbackAPI_RefusesEverythingButIPv4Loopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.2:9000/"} {
		if _, err := loopbackAPI(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"localhost:8080", "http://10.0.0.1:8080", "http://[::1]:8080", "https://127.0.0.1:8080", "example.com:80"} {
		if _, err := loopbackAPI(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestBenchConfig_EveryModeIsBounded(t *testing.T) {
	base := benchConfig{Function: "bafk", Method: "hello.wasm", Concurrency: 1, MaxTime: time.Minute, Timeout: time.Second, Requests: 10}
	if err := base.validate(); err != nil {
		t.Fatalf("sequential config: %v", err)
	}
	for name, mutate := range map[string]func(*benchConfig){
		"nothing to do":             func(c *benchConfig) { c.Requests = 0 },
		"too many requests":         func(c *benchConfig) { c.Requests = benchMaxRequests + 1 },
		"concurrency without time":  func(c *benchConfig) { c.Concurrency = 8 },
		"too long":                  func(c *benchConfig) { c.Duration = 2 * benchMaxDuration },
		"too many clients":          func(c *benchConfig) { c.Duration = time.Second; c.Concurrency = benchMaxConcurrency + 1 },
		"no function":               func(c *benchConfig) { c.Function = "" },
		"both pid sources":          func(c *benchConfig) { c.PIDs = "1"; c.DevnetDir = "d" },
		"unbounded sequential time": func(c *benchConfig) { c.MaxTime = 0 },
	} {
		c := base
		mutate(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%s: validate accepted %+v", name, c)
		}
	}
}

func TestBenchRequest_SetsNodesArgsAndStdinOnlyWhenGiven(t *testing.T) {
	req := benchRequest(benchConfig{Function: "bafk", Method: "m", Nodes: 1, Args: []string{"world"}, Stdin: "hi", StdinSet: true})
	if req.Config.NumberOfNodes != 1 || len(req.Parameters) != 1 || req.Parameters[0].Value != "world" || req.Config.Stdin == nil || *req.Config.Stdin != "hi" {
		t.Errorf("request = %+v", req)
	}
	req = benchRequest(benchConfig{Function: "bafk", Method: "m"})
	if req.Config.NumberOfNodes != 0 || req.Config.Stdin != nil || req.Parameters != nil {
		t.Errorf("request without options = %+v, want no nodes, stdin or parameters", req)
	}
}

func TestBenchTarget_ClassifiesTheAnswers(t *testing.T) {
	okAnswer := `{"code":"200","request_id":"r","results":[{"result":{"stdout":"Hello, world!\n","stderr":"","exit_code":0}}]}`
	cases := []struct {
		name, expect string
		status       int
		answer       string
		wantErr      string // "" for success
		wantDetail   string
	}{
		{"ok", "Hello", http.StatusOK, okAnswer, "", ""},
		{"ok without a check", "", http.StatusOK, okAnswer, "", ""},
		{"stdout mismatch", "Bye", http.StatusOK, okAnswer, "stdout mismatch", `does not contain "Bye"`},
		{"no results", "Hello", http.StatusOK, `{"code":"200","request_id":"r"}`, "no results", `"request_id":"r"`},
		{"code", "", http.StatusOK, `{"code":"408","message":"roll call timed out","request_id":"r"}`, "code 408", "roll call timed out"},
		{"partial content is not ok", "", http.StatusOK, strings.Replace(okAnswer, `"200"`, `"206"`, 1), "code 206", ""},
		{"http", "", http.StatusInternalServerError, `{"message":"head stopped"}`, "http 500", "head stopped"},
		{"bad json", "", http.StatusOK, `{"code":`, "bad json", "decode execution response"},
	}
	for _, tc := range cases {
		head := newFakeHeadAPI(t, api.PathExecute, tc.status, tc.answer)
		target := benchTarget{
			Client:       client.New(head.URL, client.WithHTTPClient(newBenchClient(1))),
			Request:      benchRequest(benchConfig{Function: "bafk", Method: "hello.wasm"}),
			ExpectStdout: tc.expect,
			Timeout:      10 * time.Second,
		}
		got := target.do(context.Background())
		if got.Err != tc.wantErr || !strings.Contains(got.Detail, tc.wantDetail) {
			t.Errorf("%s: outcome %+v, want class %q with detail %q", tc.name, got, tc.wantErr, tc.wantDetail)
		}
		if got.Latency <= 0 {
			t.Errorf("%s: latency %v", tc.name, got.Latency)
		}
		if sent := head.only(t); sent.body != `{"function_id":"bafk","method":"hello.wasm","config":{"runtime":{},"result_aggregation":{}}}` {
			t.Errorf("%s: sent %s", tc.name, sent.body)
		}
	}
}

func TestBenchTarget_TimeoutAndTransportFailures(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so that the server notices the client leaving
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // before slow.Close, which waits for the handler
	target := benchTarget{Client: client.New(slow.URL, client.WithHTTPClient(newBenchClient(1))), Timeout: 50 * time.Millisecond}
	if got := target.do(context.Background()); got.Err != "timeout" {
		t.Errorf("slow head: outcome %+v, want a timeout", got)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	target = benchTarget{Client: client.New(closed.URL, client.WithHTTPClient(newBenchClient(1))), Timeout: 10 * time.Second}
	if got := target.do(context.Background()); got.Err != "transport" {
		t.Errorf("closed port: outcome %+v, want a transport failure", got)
	}
}

// --max-time stops sending; the request in flight at that moment is not cut short (it would
// count as a failure of the node).
func TestRunSequential_MaxTimeLetsTheLastRequestFinish(t *testing.T) {
	const maxTime = 20 * time.Millisecond
	okAnswer := `{"code":"200","request_id":"r","results":[{"result":{"stdout":"ok","stderr":"","exit_code":0}}]}`
	var sent atomic.Int32
	slowHead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		sent.Add(1)
		<-time.After(3 * maxTime) // a head that answers after the bench's deadline
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, okAnswer)
	}))
	t.Cleanup(slowHead.Close)
	target := benchTarget{Client: client.New(slowHead.URL, client.WithHTTPClient(newBenchClient(1))),
		Request: benchRequest(benchConfig{Function: "bafk", Method: "hello.wasm"}), Timeout: 10 * time.Second}
	out := runSequential(context.Background(), target, 100, maxTime)
	if len(out) != 1 || out[0].Err != "" || sent.Load() != 1 {
		t.Fatalf("outcomes %+v after %d requests, want one success", out, sent.Load())
	}
}
