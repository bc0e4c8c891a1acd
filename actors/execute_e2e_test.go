package actors_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/messages"
)

const helloStdout = "This is the start of my program\nThe answer is  42\nThis is the end of my program\n"

// serveHello serves hello.tar.gz and its manifest on 127.0.0.1 and returns the gateway
// template workers should use, with a counter of archive downloads.
func serveHello(t testing.TB) (gateway string, downloads *atomic.Int32) {
	t.Helper()
	archive, err := os.ReadFile("../../shared/testdata/hello.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(archive)
	downloads = &atomic.Int32{}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/manifest.json"):
			fmt.Fprintf(w, `{"name":"hello","deployment":{"uri":%q,"checksum":%q}}`, srv.URL+"/hello.tar.gz", hex.EncodeToString(sum[:]))
		case r.URL.Path == "/hello.tar.gz":
			downloads.Add(1)
			_, _ = w.Write(archive)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/{cid}/manifest.json", downloads
}

func helloNetwork(t testing.TB, workers int, configure func(int, *config.Config)) *actortest.Network {
	gateway, _ := serveHello(t)
	return actortest.NewNetwork(t, actortest.NetworkConfig{Workers: workers, Configure: func(i int, c *config.Config) {
		c.FStore.Gateway = gateway
		if configure != nil {
			configure(i, c)
		}
	}})
}

func helloRequest(nodes int) messages.ExecutionRequest {
	return messages.ExecutionRequest{FunctionID: helloCID, Method: "hello.wasm", Config: messages.Config{NumberOfNodes: nodes}}
}

func execute(t *testing.T, head *daemon.Daemon, req messages.ExecutionRequest) messages.ExecutionResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := head.Node.Execute(ctx, req)
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	return resp
}

func TestExecute_OneWorkerInstallsDuringRollCallAndRunsHello(t *testing.T) {
	net := helloNetwork(t, 1, nil)
	resp := execute(t, net.Head, helloRequest(1))
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 {
		t.Fatalf("response %+v", resp)
	}
	r := resp.Results[0]
	if r.Result.Stdout != helloStdout || r.Result.ExitCode != 0 || r.Frequency != 100 {
		t.Fatalf("result %+v", r)
	}
	if len(r.Peers) != 1 || r.Peers[0] != net.Workers[0].Host.ID() {
		t.Fatalf("peers %v, want the worker", r.Peers)
	}
	results, ok := net.Head.Node.Result(resp.RequestID)
	if !ok || results[net.Workers[0].Host.ID()].Result.Stdout != helloStdout {
		t.Fatalf("result lookup by request id: %v %v", ok, results)
	}
}

func TestExecute_TwoOfThreeWorkersAgree(t *testing.T) {
	net := helloNetwork(t, 3, nil)
	resp := execute(t, net.Head, helloRequest(2))
	if resp.Code != messages.CodeOK {
		t.Fatalf("code %s: %s", resp.Code, resp.Message)
	}
	if len(resp.Results) != 1 || len(resp.Results[0].Peers) != 2 || resp.Results[0].Frequency != 100 {
		t.Fatalf("want one group of two identical results at frequency 100, got %+v", resp.Results)
	}
	if len(resp.Cluster.Peers) != 2 {
		t.Fatalf("cluster %+v", resp.Cluster)
	}
}

func TestExecute_SettleWindowTakesEveryWorkerThatAnswers(t *testing.T) {
	net := helloNetwork(t, 2, func(i int, c *config.Config) { c.Head.SettleWindow = 2 * time.Second })
	// Warm both workers so both answer the roll call at once.
	for _, w := range net.Workers {
		if err := net.Head.Node.Install(context.Background(), "", helloCID, ""); err != nil {
			t.Fatal(err)
		}
		_ = w
	}
	resp := execute(t, net.Head, helloRequest(0))
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 || len(resp.Results[0].Peers) != 2 {
		t.Fatalf("response %+v", resp)
	}
}

func TestExecute_NoWorkersTimesOutWith408(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Workers: 0, Configure: func(i int, c *config.Config) {
		c.Head.RollCallTimeout = 300 * time.Millisecond
	}})
	resp := execute(t, net.Head, helloRequest(1))
	if resp.Code != messages.CodeTimeout || resp.Message == "" {
		t.Fatalf("want 408 with a message, got %+v", resp)
	}
	if !strings.Contains(resp.Message, "answered") {
		t.Fatalf("message %q does not say how many answered", resp.Message)
	}
}

// stuckRunner takes executions and never finishes them (until the node stops), telling the
// test when one has started.
type stuckRunner struct{ started chan struct{} }

func (s stuckRunner) Execute(ctx context.Context, _ executor.Request) (executor.Result, error) {
	select {
	case s.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return executor.Result{Code: messages.CodeError}, ctx.Err()
}

func TestExecute_WorkerKilledAfterAcceptingGives206WithTheOthers(t *testing.T) {
	stuck := stuckRunner{started: make(chan struct{}, 1)}
	gateway, _ := serveHello(t)
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Workers: 2,
		Configure: func(i int, c *config.Config) { c.FStore.Gateway = gateway },
		WrapRunner: func(i int, r actors.FunctionRunner) actors.FunctionRunner {
			if i == 2 {
				return stuck
			}
			return r
		}})
	go func() {
		select {
		case <-stuck.started:
			_ = net.Workers[1].Host.Close() // the worker dies mid-execution: gone from the network, no goodbye
		case <-time.After(time.Minute):
		}
	}()
	req := helloRequest(2)
	req.Config.Timeout = 3 // seconds: the request's own deadline
	start := time.Now()
	resp := execute(t, net.Head, req)
	if resp.Code != messages.CodePartialContent || resp.Message == "" {
		t.Fatalf("want 206 with a message, got %+v", resp)
	}
	if len(resp.Results) != 1 || resp.Results[0].Result.Stdout != helloStdout || len(resp.Results[0].Peers) != 1 ||
		resp.Results[0].Peers[0] != net.Workers[0].Host.ID() {
		t.Fatalf("want the live worker's result, got %+v", resp.Results)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Fatalf("took %s, past the request's deadlines", took)
	}
}

// A per-request supervisor that panics is stopped, not restarted into a second run, and its
// requester still gets one answer.
func TestExecute_CrashedRequestSupervisorAnswersOnceAndIsGone(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Configure: func(i int, c *config.Config) {
		c.Head.RollCallTimeout = time.Hour
	}})
	done := make(chan messages.ExecutionResponse, 1)
	go func() { done <- execute(t, net.Head, helloRequest(1)) }()
	var id string
	if !actortest.Eventually(10*time.Second, func() bool {
		for _, a := range net.Head.Node.Inspect().Snapshot() {
			if a.Kind == "request" {
				id = a.ID
				return true
			}
		}
		return false
	}) {
		t.Fatal("no request supervisor")
	}
	published := testutil.ToFloat64(net.Head.Node.Metrics().RollCallsPublished.WithLabelValues(helloCID))
	net.Head.Node.Send(net.Head.Node.PID(id), inspect.Crash("injected"))
	select {
	case resp := <-done:
		if resp.Code != messages.CodeError || resp.Message == "" {
			t.Fatalf("want 500 with a message, got %+v", resp)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the requester got no answer")
	}
	if !actortest.Eventually(10*time.Second, func() bool { _, ok := net.Head.Node.Inspect().Find(id); return !ok }) {
		t.Fatal("crashed request supervisor still in the tree")
	}
	if again := testutil.ToFloat64(net.Head.Node.Metrics().RollCallsPublished.WithLabelValues(helloCID)); again != published {
		t.Fatalf("roll calls published went from %v to %v: the request ran again", published, again)
	}
}

func TestExecute_ConsensusRequestsAreRefusedUntilClustersExist(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{})
	req := helloRequest(1)
	req.Config.ConsensusAlgorithm = "raft"
	resp := execute(t, net.Head, req)
	if resp.Code != messages.CodeNotImplemented || !strings.Contains(resp.Message, "raft") {
		t.Fatalf("want 501 naming raft, got %+v", resp)
	}
	if _, ok := net.Head.Node.Result(resp.RequestID); ok {
		t.Fatal("a request without results is not kept for lookups")
	}
}
