package e2e

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/messages"
)

// gate holds every execution until released, counting those it holds.
type gate struct {
	next    actors.FunctionRunner
	release chan struct{}
	mu      sync.Mutex
	held    int
}

func (g *gate) Reservation(req executor.Request) executor.Reservation {
	return g.next.Reservation(req)
}

func (g *gate) Budget() executor.Reservation { return g.next.Budget() }

func (g *gate) Execute(ctx context.Context, req executor.Request) (executor.Result, error) {
	g.mu.Lock()
	g.held++
	g.mu.Unlock()
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return g.next.Execute(ctx, req)
}

func (g *gate) holding() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// A draining head refuses new REST work (503, Retry-After), says so on /readyz, answers every
// request it holds with its real result, and its Drain returns once they are done.
func TestDrain_HeadAnswersWhatItHoldsAndRefusesTheRest(t *testing.T) {
	t.Parallel() // mostly waiting (timers, gates, processes): it overlaps the busy tests
	g := &gate{release: make(chan struct{})}
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1,
		Configure:  func(_ int, c *config.Config) { withGuest(c) },
		WrapRunner: func(_ int, r actors.FunctionRunner) actors.FunctionRunner { g.next = r; return g }})
	const inFlight = 5
	answers := make(chan messages.ExecutionResponse, inFlight)
	for range inFlight {
		go func() { answers <- execute(t, net.Head, guestRequest(1)) }()
	}
	if !actortest.Eventually(time.Minute, func() bool { return g.holding() == inFlight }) {
		t.Fatalf("%d executions started, want %d", g.holding(), inFlight)
	}

	drained := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		drained <- net.Head.Drain(ctx)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !actortest.Eventually(time.Minute, func() bool { return net.Head.Node.Draining() }) {
		t.Fatal("the head never began to drain")
	}
	status, body, err := rest(net.Head).PostRaw(ctx, api.PathExecute, []byte(`{"function_id":"f","method":"m.wasm"}`))
	if err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("new request while draining: %d %s %v, want 503", status, body, err)
	}
	probe, code := readyz(t, net.Head)
	if code != http.StatusServiceUnavailable || !failing(probe, "draining") {
		t.Fatalf("/readyz while draining: %d %+v", code, probe)
	}
	select {
	case err := <-drained:
		t.Fatalf("the drain ended (%v) with %d requests held", err, inFlight)
	default:
	}

	close(g.release)
	for range inFlight {
		if r := <-answers; r.Code != messages.CodeOK || len(r.Results) != 1 {
			t.Errorf("in-flight request answered %+v, want its result", r)
		}
	}
	if err := <-drained; err != nil {
		t.Fatalf("drain: %v", err)
	}
}

// A draining worker volunteers for nothing: with it the only worker, a request finds no one.
// Its drain ends at once, holding nothing.
func TestDrain_WorkerStaysSilentOnRollCalls(t *testing.T) {
	t.Parallel() // mostly waiting (timers, gates, processes): it overlaps the busy tests
	net := guestNetwork(t, 1, nil)
	if r := execute(t, net.Head, guestRequest(1)); r.Code != messages.CodeOK {
		t.Fatalf("before the drain: %+v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := net.Workers[0].Drain(ctx); err != nil {
		t.Fatalf("drain of an idle worker: %v", err)
	}
	req := guestRequest(1)
	req.Config.Timeout = 1
	if r := execute(t, net.Head, req); r.Code != messages.CodeTimeout {
		t.Fatalf("request while the only worker drains: %+v, want 408", r)
	}
	if probe, code := readyz(t, net.Workers[0]); code != http.StatusServiceUnavailable || !failing(probe, "draining") {
		t.Fatalf("worker /readyz while draining: %d %+v", code, probe)
	}
}

// A drain that outlasts its context says so; stopping then answers what was held.
func TestDrain_TimeoutThenStopAnswersTheRequester(t *testing.T) {
	t.Parallel() // mostly waiting (timers, gates, processes): it overlaps the busy tests
	g := &gate{release: make(chan struct{})}
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1,
		Configure:  func(_ int, c *config.Config) { withGuest(c) },
		WrapRunner: func(_ int, r actors.FunctionRunner) actors.FunctionRunner { g.next = r; return g }})
	answer := make(chan messages.ExecutionResponse, 1)
	go func() { answer <- execute(t, net.Head, guestRequest(1)) }()
	if !actortest.Eventually(time.Minute, func() bool { return g.holding() == 1 }) {
		t.Fatal("the execution never started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := net.Head.Drain(ctx); !errors.Is(err, actors.ErrDrainTimeout) {
		t.Fatalf("drain: %v, want %v", err, actors.ErrDrainTimeout)
	}
	net.Head.Stop()
	if r := <-answer; r.Code != messages.CodeError {
		t.Fatalf("answer after the stop: %+v, want 500 (stopped before it finished)", r)
	}
	close(g.release)
}

func readyz(t *testing.T, n *daemontest.Node) (api.Probe, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, code, err := client.New(n.DebugAddress()).Ready(ctx)
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return p, code
}

func failing(p api.Probe, name string) bool {
	for _, c := range p.Checks {
		if c.Name == name {
			return !c.OK
		}
	}
	return false
}
