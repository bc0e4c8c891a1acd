package e2e

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/messages"
)

// gatedRunner runs executions for real; once armed, only when the test opens the gate, and it
// says when one is waiting.
type gatedRunner struct {
	inner   actors.FunctionRunner
	armed   *atomic.Bool
	waiting chan struct{}
	gate    chan struct{}
}

func (g gatedRunner) Reservation(req executor.Request) executor.Reservation {
	return g.inner.Reservation(req)
}

func (g gatedRunner) Budget() executor.Reservation { return g.inner.Budget() }

func (g gatedRunner) Execute(ctx context.Context, req executor.Request) (executor.Result, error) {
	if !g.armed.Load() {
		return g.inner.Execute(ctx, req)
	}
	select {
	case g.waiting <- struct{}{}:
	default:
	}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return executor.Result{Code: messages.CodeError}, ctx.Err()
	}
	return g.inner.Execute(ctx, req)
}

// warmUp installs the test function on every worker and runs it once on each, so that they
// answer the requests under test at once: their deadlines then bound the fault, not a first run.
func warmUp(t *testing.T, net *daemontest.Network) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := rest(net.Head).Install(ctx, messages.InstallFunctionRequest{CID: guest.CID.String()}); err != nil {
		t.Fatal(err)
	}
	for _, w := range net.Workers {
		w.WaitMetric(t, "b7s_fstore_functions_installed_ok", nil, 1)
	}
	wantBoth(t, execute(t, net.Head, guestRequest(len(net.Workers))), net.Workers...)
}

// wantOnlyFrom fails unless resp carries the greeting from exactly the worker w.
func wantOnlyFrom(t *testing.T, resp messages.ExecutionResponse, w *daemontest.Node) {
	t.Helper()
	if len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting ||
		len(resp.Results[0].Peers) != 1 || resp.Results[0].Peers[0] != w.Host.ID() {
		t.Fatalf("want the greeting from %s alone, got %+v", w.Host.ID(), resp.Results)
	}
}

func wantBoth(t *testing.T, resp messages.ExecutionResponse, workers ...*daemontest.Node) {
	t.Helper()
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting ||
		len(resp.Results[0].Peers) != len(workers) {
		t.Fatalf("want 200 with the greeting from %d workers, got %+v", len(workers), resp)
	}
	for _, w := range workers {
		found := false
		for _, p := range resp.Results[0].Peers {
			found = found || p == w.Host.ID()
		}
		if !found {
			t.Fatalf("no result from %s: %+v", w.Host.ID(), resp.Results)
		}
	}
}

// A worker partitioned from the head while it runs the function: its result never arrives, the
// head answers at the request's deadline with the other worker's, and after healing both work.
func TestFaults_WorkerPartitionedMidRequest(t *testing.T) {
	t.Parallel() // mostly waiting (timers, gates, processes): it overlaps the busy tests
	gated := gatedRunner{armed: &atomic.Bool{}, waiting: make(chan struct{}, 1), gate: make(chan struct{})}
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 2,
		Configure: func(i int, c *config.Config) { withGuest(c) },
		WrapRunner: func(i int, r actors.FunctionRunner) actors.FunctionRunner {
			if i == 2 {
				gated.inner = r
				return gated
			}
			return r
		}})
	w1, w2 := net.Workers[0], net.Workers[1]
	warmUp(t, net)
	gated.armed.Store(true)

	done := make(chan messages.ExecutionResponse, 1)
	req := guestRequest(2)
	req.Config.Timeout = 5 // seconds: what bounds the wait for the lost result
	go func() { done <- execute(t, net.Head, req) }()
	select {
	case <-gated.waiting: // w2 has the request and is about to run it
	case <-time.After(30 * time.Second):
		t.Fatal("the second worker never started the execution")
	}
	net.Partition(net.Head, w2)
	close(gated.gate)
	resp := <-done
	if resp.Code != messages.CodePartialContent || !strings.Contains(resp.Message, "1 of 2") {
		t.Fatalf("want 206 naming 1 of 2 workers, got %s: %s", resp.Code, resp.Message)
	}
	wantOnlyFrom(t, resp, w1)

	net.Heal(net.Head, w2)
	gated.armed.Store(false)
	wantBoth(t, execute(t, net.Head, guestRequest(2)), w1, w2)
}

// The head's router crashes while requests are in flight: it is restarted with its mailbox
// kept, and every request still gets its answer.
func TestFaults_RouterCrashUnderLoad(t *testing.T) {
	net := guestNetwork(t, 2, nil)
	warmUp(t, net)
	const requests = 24
	var wg sync.WaitGroup
	answers := make(chan messages.ExecutionResponse, requests)
	for range requests {
		wg.Go(func() { answers <- execute(t, net.Head, guestRequest(1)) })
	}
	// Crash once the router is busy with this load: a third of the roll-call answers are in.
	net.Head.WaitMetric(t, "b7s_node_messages_processed", typ(messages.TypeRollCallResponse), requests/3)
	if err := net.Head.Faults.Crash("node/router", "injected under load"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(answers)
	for resp := range answers {
		if resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting {
			t.Errorf("answer %s: %s %+v", resp.Code, resp.Message, resp.Results)
		}
	}
	router, ok := net.Head.Node.Inspect().Find("node/router")
	if !ok || router.Restarts != 1 || router.LastError != "injected under load" {
		t.Fatalf("router %+v, want one restart with the injected error", router)
	}
}

// The head picks a worker from the roll call and loses it before its MsgExecute leaves: the
// send fails, the head answers with the other worker's result at once and says one could not
// be reached; the killed worker, restarted, works again.
func TestFaults_HeadLosesItsWorkerBetweenRollCallAndExecute(t *testing.T) {
	net := guestNetwork(t, 2, nil)
	w1, w2 := net.Workers[0], net.Workers[1]
	warmUp(t, net)

	held := net.Head.Links.Hold(actortest.Match{Peer: w2.Host.ID(), Type: messages.TypeExecute, Dir: actortest.Outbound})
	done := make(chan messages.ExecutionResponse, 1)
	go func() { done <- execute(t, net.Head, guestRequest(2)) }()
	if !held.WaitHits(1, 30*time.Second) {
		t.Fatal("the head never sent MsgExecute to the second worker")
	}
	net.Kill(w2)
	held.Remove() // the send goes on, to a node that is gone
	resp := <-done
	if resp.Code != messages.CodePartialContent || !strings.Contains(resp.Message, "1 could not be reached") {
		t.Fatalf("want 206 saying one worker could not be reached, got %s: %s", resp.Code, resp.Message)
	}
	wantOnlyFrom(t, resp, w1)

	w2 = net.Restart(w2)
	wantBoth(t, execute(t, net.Head, guestRequest(2)), w1, w2)
}

// Messages of one type from one node are dropped or delayed on their way to another.
func TestFaults_DropAndDelayByTypeBetweenNodes(t *testing.T) {
	t.Parallel() // mostly waiting (timers, gates, processes): it overlaps the busy tests
	net := guestNetwork(t, 2, nil)
	w1, w2 := net.Workers[0], net.Workers[1]
	warmUp(t, net)

	// w1's roll-call answers never reach the head: the one worker asked for is w2.
	dropped := net.Drop(w1, net.Head, messages.TypeRollCallResponse)
	resp := execute(t, net.Head, guestRequest(1))
	if resp.Code != messages.CodeOK || dropped.Hits() < 1 {
		t.Fatalf("answer %s %s; %d dropped", resp.Code, resp.Message, dropped.Hits())
	}
	wantOnlyFrom(t, resp, w2)
	dropped.Remove()

	// w2's result arrives after the request's deadline: the head answers with w1's alone.
	late := net.Delay(w2, net.Head, messages.TypeExecuteResponse, time.Minute)
	req := guestRequest(2)
	req.Config.Timeout = 5
	resp = execute(t, net.Head, req)
	if resp.Code != messages.CodePartialContent || late.Hits() != 1 {
		t.Fatalf("answer %s %s; %d delayed", resp.Code, resp.Message, late.Hits())
	}
	wantOnlyFrom(t, resp, w1)
}
