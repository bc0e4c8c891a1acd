package e2e

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/messages"
)

func TestExecute_OneWorkerInstallsDuringRollCallAndRunsTheFunction(t *testing.T) {
	net := guestNetwork(t, 1, nil)
	resp := execute(t, net.Head, guestRequest(1))
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 {
		t.Fatalf("response %+v", resp)
	}
	r := resp.Results[0]
	if r.Result.Stdout != greeting || r.Result.ExitCode != 0 || r.Frequency != 100 {
		t.Fatalf("result %+v", r)
	}
	if len(r.Peers) != 1 || r.Peers[0] != net.Workers[0].Host.ID() {
		t.Fatalf("peers %v, want the worker", r.Peers)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results, err := rest(net.Head).Result(ctx, resp.RequestID)
	if err != nil || results[net.Workers[0].Host.ID()].Result.Stdout != greeting {
		t.Fatalf("result lookup by request id: %v %v", err, results)
	}
}

// Arguments and stdin reach the function through head and worker (WASI argv and stdin).
func TestExecute_ArgumentsAndStdinReachTheFunction(t *testing.T) {
	net := guestNetwork(t, 1, nil)
	req := guestRequest(1, "echo", "a b", "ü")
	stdin := "line one\nline two"
	req.Config.Stdin = &stdin
	resp := execute(t, net.Head, req)
	want := `args=["a b" "ü"] stdin="line one\nline two"` + "\n"
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != want {
		t.Fatalf("response %+v, want stdout %q", resp, want)
	}
}

// The largest output a worker's limit allows, of the bytes JSON escapes worst, comes back whole:
// the direct-message limit is derived from the output limit.
func TestExecute_LargestOutputOfTheWorstBytesComesBackWhole(t *testing.T) {
	// Writing, sending and decoding ~25 MB of escaped output takes 10-20 s under the race
	// detector on two busy cores: the default 20 s to gather results is too tight for that.
	net := guestNetwork(t, 1, func(_ int, c *config.Config) { c.Head.ExecutionTimeout = 2 * time.Minute })
	max := config.Default().Worker.MaxOutputBytes
	req := guestRequest(1, "flood", strconv.Itoa(max))
	// 12 MB of escaped JSON is encoded, sent and decoded twice; under the race detector on a
	// busy machine that took up to 15 s of the default 20 s, so the request gets its own deadline.
	req.Config.Timeout = 60
	resp := execute(t, net.Head, req)
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 {
		t.Fatalf("code %s (%s), %d results", resp.Code, resp.Message, len(resp.Results))
	}
	out := resp.Results[0].Result
	want := string(bytes.Repeat([]byte{0x01}, max))
	if out.Stdout != want || out.Stderr != want {
		t.Fatalf("stdout %d bytes, stderr %d bytes; want %d of 0x01 each", len(out.Stdout), len(out.Stderr), max)
	}
}

func TestExecute_TwoOfThreeWorkersAgree(t *testing.T) {
	net := guestNetwork(t, 3, nil)
	resp := execute(t, net.Head, guestRequest(2))
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
	net := guestNetwork(t, 2, func(i int, c *config.Config) { c.Head.SettleWindow = 2 * time.Second })
	// Install on both workers first, so both answer the roll call at once.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := rest(net.Head).Install(ctx, messages.InstallFunctionRequest{CID: guest.CID.String()}); err != nil {
		t.Fatal(err)
	}
	for _, w := range net.Workers {
		w.WaitMetric(t, "b7s_fstore_functions_installed_ok", nil, 1)
	}
	resp := execute(t, net.Head, guestRequest(0))
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 || len(resp.Results[0].Peers) != 2 {
		t.Fatalf("response %+v", resp)
	}
}

func TestExecute_NoWorkersTimesOutWith408(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 0, Configure: func(i int, c *config.Config) {
		c.Head.RollCallTimeout = 300 * time.Millisecond
	}})
	resp := execute(t, net.Head, guestRequest(1))
	if resp.Code != messages.CodeTimeout || resp.Message == "" {
		t.Fatalf("want 408 with a message, got %+v", resp)
	}
	if !strings.Contains(resp.Message, "answered") {
		t.Fatalf("message %q does not say how many answered", resp.Message)
	}
}

// stuckRunner takes executions and never finishes them (until the node stops), telling the
// test when one has started. It reserves what the worker's executor would.
type stuckRunner struct {
	actors.FunctionRunner
	started chan struct{}
}

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
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 2,
		Configure: func(i int, c *config.Config) { withGuest(c) },
		WrapRunner: func(i int, r actors.FunctionRunner) actors.FunctionRunner {
			if i == 2 {
				stuck.FunctionRunner = r
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
	req := guestRequest(2)
	req.Config.Timeout = 3 // seconds: the request's own deadline
	resp := execute(t, net.Head, req)
	if resp.Code != messages.CodePartialContent || resp.Message == "" {
		t.Fatalf("want 206 with a message, got %+v", resp)
	}
	if len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting || len(resp.Results[0].Peers) != 1 ||
		resp.Results[0].Peers[0] != net.Workers[0].Host.ID() {
		t.Fatalf("want the live worker's result, got %+v", resp.Results)
	}
}

// requestActors are the IDs of the head's live per-request supervisors.
func requestActors(n *daemontest.Node) []string {
	var ids []string
	for _, a := range n.Node.Inspect().Snapshot() {
		if a.Parent == "node/requests" {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// A per-request supervisor that panics is stopped, not restarted into a second run, and its
// requester still gets one answer.
func TestExecute_CrashedRequestSupervisorAnswersOnceAndIsGone(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Configure: func(i int, c *config.Config) {
		c.Head.RollCallTimeout = time.Hour
	}})
	done := make(chan messages.ExecutionResponse, 1)
	go func() { done <- execute(t, net.Head, guestRequest(1)) }()
	var id string
	if !actortest.Eventually(10*time.Second, func() bool {
		ids := requestActors(net.Head)
		if len(ids) == 1 {
			id = ids[0]
		}
		return id != ""
	}) {
		t.Fatal("no request supervisor")
	}
	rollCalls := map[string]string{"function": guest.CID.String()}
	// The supervisor is in the tree from its spawn, before it has published its roll call.
	net.Head.WaitMetric(t, "b7s_node_rollcalls_published", rollCalls, 1)
	published := net.Head.Metric(t, "b7s_node_rollcalls_published", rollCalls)
	if err := net.Head.Faults.Crash(id, "injected"); err != nil {
		t.Fatal(err)
	}
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
	if again := net.Head.Metric(t, "b7s_node_rollcalls_published", rollCalls); again != published {
		t.Fatalf("roll calls published went from %v to %v: the request ran again", published, again)
	}
}

func TestExecute_RequestWithoutResultsIsNotKept(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{})
	req := guestRequest(1)
	req.Config.Timeout = 1 // no worker: the roll call times out
	resp := execute(t, net.Head, req)
	if resp.Code != messages.CodeTimeout || !strings.Contains(resp.Message, "roll call") {
		t.Fatalf("want 408 for the roll call, got %+v", resp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := rest(net.Head).Result(ctx, resp.RequestID); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("a request without results is not kept for lookups: got %v", err)
	}
}
