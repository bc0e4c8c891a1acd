package e2e

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/messages"
)

// soakOutcome is what one request of the soak got.
type soakOutcome struct {
	refused  bool // the head was down: the request was never accepted
	err      error
	resp     messages.ExecutionResponse
	took     time.Duration
	deadline time.Duration
}

// refusedByDownHead says whether err is a connection the head did not accept (it was being
// restarted): such a request was never the head's, so it is owed no answer.
func refusedByDownHead(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// The soak's scenarios, small, on in-process nodes: requests of every node count under load
// while a worker is killed and restarted (same key and database), another is cut off for a
// while, and the head is restarted once. Every request the head accepted gets exactly one
// answer, within its deadline and a bound; no request ID answers twice; afterwards no
// per-request actor is left and goroutines are back near where they were.
func TestSoak_EveryAcceptedRequestIsAnsweredOnceThroughFaults(t *testing.T) {
	const (
		requests    = 150
		concurrency = 12
		timeout     = 3 // seconds: the requests' roll-call and gather deadlines
		overrun     = 3 * time.Second
	)
	net := guestNetwork(t, 3, func(i int, c *config.Config) { c.Head.SettleWindow = 50 * time.Millisecond })
	for range 2 { // install everywhere, outside the numbers
		execute(t, net.Head, guestRequest(3))
	}
	baseline := runtime.NumGoroutine()

	rng := rand.New(rand.NewPCG(1, 2)) // reproducible mix
	nodes := make([]int, requests)
	for i := range nodes {
		nodes[i] = []int{0, 1, 2}[rng.IntN(3)]
	}
	var (
		next     atomic.Int64
		answered atomic.Int64
		outcomes = make([]soakOutcome, requests)
		headMu   sync.RWMutex // the head may be replaced by its restart
	)
	head := func() *daemontest.Node { headMu.RLock(); defer headMu.RUnlock(); return net.Head }
	heads := []*daemontest.Node{net.Head} // every incarnation, to count what each accepted
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		waitAnswers := func(n int64) {
			actortest.Eventually(2*time.Minute, func() bool { return answered.Load() >= n })
		}
		waitAnswers(30)
		net.Kill(net.Workers[1])
		net.Restart(net.Workers[1])
		waitAnswers(70)
		net.Partition(net.Head, net.Workers[0])
		waitAnswers(90)
		net.Heal(net.Head, net.Workers[0])
		waitAnswers(110)
		headMu.Lock()
		net.Kill(net.Head)
		heads = append(heads, net.Restart(net.Head))
		headMu.Unlock()
	}()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				req := guestRequest(nodes[i])
				req.Config.Timeout = timeout
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				start := time.Now()
				resp, err := rest(head()).Execute(ctx, req)
				cancel()
				outcomes[i] = soakOutcome{refused: refusedByDownHead(err), err: err, resp: resp,
					took: time.Since(start), deadline: 2 * timeout * time.Second}
				answered.Add(1)
			}
		})
	}
	wg.Wait()
	<-faultsDone

	// A request is the head's once it publishes its roll call (every request here is valid):
	// what the head incarnations published is what they owe answers for. A request lost on a
	// connection the stopping head closed before reading it was never accepted.
	accepted := 0.0
	for _, h := range heads {
		accepted += h.Metric(t, "b7s_node_rollcalls_published", nil)
	}
	accepted -= 2 // the warm-up
	seen := map[string]int{}
	refused, lost := 0, 0
	codes := map[messages.Code]int{}
	for i, o := range outcomes {
		switch {
		case o.refused:
			refused++
		case o.err != nil:
			lost++
		default:
			codes[o.resp.Code]++
			seen[o.resp.RequestID]++
			if o.took > o.deadline+overrun {
				t.Errorf("request %d answered after %v, past its %v deadline by more than %v", i, o.took, o.deadline, overrun)
			}
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("request ID %s answered %d times", id, n)
		}
	}
	answers := float64(requests - refused - lost)
	if answers != accepted {
		t.Errorf("the heads accepted %v requests and answered %v (%d lost in transit, %d refused)", accepted, answers, lost, refused)
	}
	t.Logf("%d requests: %d refused and %d not read while the head restarted, codes %v", requests, refused, lost, codes)
	if codes[messages.CodeOK] < requests/2 {
		t.Errorf("only %d of %d requests succeeded", codes[messages.CodeOK], requests)
	}

	all := append([]*daemontest.Node{net.Head}, net.Workers...)
	if !actortest.Eventually(30*time.Second, func() bool {
		for _, d := range all {
			for _, a := range d.Node.Inspect().Snapshot() {
				if a.Parent == "node/requests" || a.Parent == "node/work" {
					return false
				}
			}
		}
		return true
	}) {
		t.Error("request or execution actors left in the tree after the load")
	}
	// Restarted nodes start their own goroutines; libp2p winds down closed connections slowly.
	const slack = 150
	if !actortest.Eventually(30*time.Second, func() bool { return runtime.NumGoroutine() <= baseline+slack }) {
		t.Errorf("goroutines: %d after, %d before", runtime.NumGoroutine(), baseline)
	}
}
