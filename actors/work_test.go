package actors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// gatedRunner runs nothing until released (all at once, or one by one with finish); it records
// what it was asked to run and the deadline of each run. Like the executor, it reserves each
// execution's memory limit (limited_memory, else 256 MiB) and 1 MiB of disk, within budget.
type gatedRunner struct {
	mu        sync.Mutex
	started   []string
	deadlines map[string]time.Time
	gates     map[string]chan struct{}
	release   chan struct{}
	budget    executor.Reservation
}

func newGatedRunner() *gatedRunner {
	return &gatedRunner{release: make(chan struct{}), deadlines: make(map[string]time.Time),
		gates: make(map[string]chan struct{}), budget: executor.Reservation{Memory: 1 << 40, Disk: 1 << 40}}
}

func (g *gatedRunner) gate(id string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates[id] == nil {
		g.gates[id] = make(chan struct{})
	}
	return g.gates[id]
}

// finish lets execution id return.
func (g *gatedRunner) finish(id string) { close(g.gate(id)) }

func (g *gatedRunner) Execute(ctx context.Context, req executor.Request) (executor.Result, error) {
	gate := g.gate(req.RequestID)
	g.mu.Lock()
	g.started = append(g.started, req.RequestID)
	g.deadlines[req.RequestID], _ = ctx.Deadline()
	g.mu.Unlock()
	select {
	case <-g.release:
	case <-gate:
	case <-ctx.Done():
		return executor.Result{Code: messages.CodeTimeout, ExitCode: executor.ExitTimeout}, ctx.Err()
	}
	return executor.Result{Code: messages.CodeOK, Stdout: "ran " + req.RequestID}, nil
}

func (g *gatedRunner) Reservation(req executor.Request) executor.Reservation {
	pages := int64(req.MemoryLimitPages)
	if pages == 0 {
		pages = 4096
	}
	return executor.Reservation{Memory: pages * 65536, Disk: 1 << 20}
}

func (g *gatedRunner) Budget() executor.Reservation { return g.budget }

func (g *gatedRunner) runs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.started...)
}

// ran is what was started, sorted: executions start on goroutines of their own, in any order.
func (g *gatedRunner) ran() []string {
	r := g.runs()
	slices.Sort(r)
	return r
}

func (g *gatedRunner) deadline(id string) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.deadlines[id]
}

type installedFunctions map[string]bool

func (f installedFunctions) IsInstalled(cid string) bool { return f[cid] }
func (f installedFunctions) FunctionPath(cid, method string) (string, error) {
	if strings.Contains(method, "..") {
		return "", fmt.Errorf("function path %s: invalid method: %q", cid, method)
	}
	return "/functions/" + cid + "/" + method, nil
}

// Real peer IDs: results are keyed by them on the wire. The worker's key signs its attestation.
var (
	head          = newPeerID()
	selfKey, self = newIdentity()
)

func newPeerID() peer.ID {
	_, id := newIdentity()
	return id
}

func newIdentity() (crypto.PrivKey, peer.ID) {
	key, err := p2p.GenerateKey()
	if err != nil {
		panic(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return key, id
}

func newKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func idOf(t testing.TB, key crypto.PrivKey) peer.ID {
	t.Helper()
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type workFixture struct {
	sys         *actortest.System
	work        *actor.PID
	host        *fakeHost
	runner      *gatedRunner
	installer   *actortest.Probe
	clusters    *actortest.Probe // gets MsgExecute with consensus
	metrics     *nodeMetrics
	attestation *attest.Holder // empty: no attestation loaded
}

// fixtureExecutionTimeout is the fixture's bound on a run whose request sets no timeout.
const fixtureExecutionTimeout = 20 * time.Second

func newWorkFixture(t *testing.T, concurrency, queue int) workFixture {
	return newBudgetFixture(t, concurrency, queue, executor.Reservation{})
}

// newBudgetFixture is a work fixture whose runner has budget (zero: practically none).
func newBudgetFixture(t *testing.T, concurrency, queue int, budget executor.Reservation) workFixture {
	sys := actortest.NewSystem(t)
	host := newFakeHost(self)
	runner := newGatedRunner()
	if budget != (executor.Reservation{}) {
		runner.budget = budget
	}
	installer := sys.NewProbe(t, "installer")
	clusters := sys.NewProbe(t, "clusters")
	metrics := newMetrics(nil)
	holder := &attest.Holder{}
	w := sys.Spawn(t, "work", "work", newWork(workConfig{
		Self: self, Concurrency: concurrency, QueueSize: queue, Attestation: holder, ExecutionTimeout: fixtureExecutionTimeout,
		Runner: runner, Functions: installedFunctions{"fn": true}, Installer: installer.PID,
		Outbox:  testOutbox(t, host, sys),
		Results: newResultCache(10), Tree: newTree(sys.Registry, nil, nil), Metrics: metrics, Log: sys.Log,
		Clusters: clusters.PID, Consensus: true,
	}), actor.WithSupervisor(newStopOnFailure()))
	return workFixture{sys: sys, work: w, host: host, runner: runner, installer: installer, clusters: clusters,
		metrics: metrics, attestation: holder}
}

func (f workFixture) execute(id, function string) {
	f.executeRequest(id, messages.Request{FunctionID: function, Method: "m.wasm"})
}

func (f workFixture) executeRequest(id string, req messages.Request) {
	f.sys.Send(f.work, &delivery{Pipeline: pipeline{Direct: true}, From: head, Author: head,
		Message: messages.MsgExecute{Request: req, RequestID: id}})
}

// response returns the next MsgExecuteResponse the worker sent.
func (f workFixture) response(t *testing.T) messages.MsgExecuteResponse {
	t.Helper()
	_, msg := f.sent(t)
	resp, ok := msg.(messages.MsgExecuteResponse)
	if !ok {
		t.Fatalf("worker sent %T, want an execute response", msg)
	}
	return resp
}

func (f workFixture) rollCall(t *testing.T, rc messages.MsgRollCall) {
	rc.Origin, rc.RequestID = head, "r-"+rc.FunctionID
	f.sys.Send(f.work, &delivery{Pipeline: pipeline{Topic: "t"}, From: head, Author: head, Message: rc})
}

// sent returns the next message the worker sent, decoded.
func (f workFixture) sent(t *testing.T) (peer.ID, messages.Message) {
	t.Helper()
	select {
	case m := <-f.host.sent:
		msg, err := messages.Decode(m.data, 0)
		if err != nil {
			t.Fatalf("worker sent undecodable %s: %v", m.data, err)
		}
		return m.to, msg
	case <-time.After(time.Minute):
		t.Fatal("worker sent nothing")
		return "", nil
	}
}

func (f workFixture) nothingSent(t *testing.T) {
	t.Helper()
	synctest.Wait()
	select {
	case m := <-f.host.sent:
		t.Fatalf("worker sent %s", m.data)
	default:
	}
}

func TestWork_RunsWithinConcurrencyQueuesThenRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWorkFixture(t, 1, 1)
		f.execute("a", "fn") // runs
		f.execute("b", "fn") // waits in the queue
		f.execute("c", "fn") // refused
		to, msg := f.sent(t)
		resp := msg.(messages.MsgExecuteResponse)
		if to != head || resp.RequestID != "c" || resp.Code != messages.CodeNotAvailable || resp.Message == "" ||
			resp.Results[self].Code != messages.CodeNotAvailable {
			t.Fatalf("refusal %+v to %s", resp, to)
		}
		synctest.Wait()
		if got := f.runner.runs(); len(got) != 1 || got[0] != "a" {
			t.Fatalf("running %v, want only a", got)
		}
		close(f.runner.release)
		answered := map[string]bool{} // each on a stream of its own: in either order
		for range 2 {
			_, msg := f.sent(t)
			r := msg.(messages.MsgExecuteResponse)
			if r.Code != messages.CodeOK || r.Results[self].Result.Stdout != "ran "+r.RequestID {
				t.Fatalf("result %+v", r)
			}
			answered[r.RequestID] = true
		}
		if !answered["a"] || !answered["b"] {
			t.Fatalf("answered %v, want a and b", answered)
		}
		if !actortest.Eventually(time.Minute, func() bool {
			for _, a := range f.sys.Registry.Snapshot() {
				if a.Kind == "execution" {
					return false
				}
			}
			return true
		}) {
			t.Fatal("execution actors left behind")
		}
	})
}

func TestWork_ExecuteRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWorkFixture(t, 2, 2)
		f.execute("", "fn") // no request ID: dropped, nothing sent (spec §4.5)
		f.nothingSent(t)
		f.execute("x", "missing")
		_, msg := f.sent(t)
		if r := msg.(messages.MsgExecuteResponse); r.Code != messages.CodeNotFound || r.RequestID != "x" ||
			r.Results[self].Code != messages.CodeNotFound {
			t.Fatalf("not installed: %+v", r)
		}
		// With consensus the request goes to its cluster, which answers for it.
		raft := messages.Request{FunctionID: "fn", Method: "m.wasm", Config: messages.Config{ConsensusAlgorithm: "raft"}}
		f.executeRequest("y", raft)
		if ce := actortest.Expect[*clusterExecute](t, f.clusters, time.Minute); ce.From != head || ce.Msg.RequestID != "y" {
			t.Fatalf("to the cluster: %+v", ce)
		}
		f.nothingSent(t)
		// ...unless the function is not installed (spec §4.5 step 2 comes first).
		raft.FunctionID = "missing"
		f.executeRequest("z", raft)
		if r := f.response(t); r.Code != messages.CodeNotFound || r.RequestID != "z" {
			t.Fatalf("consensus, not installed: %+v", r)
		}
		// A consensus algorithm the worker cannot read is "500" (spec §4.5 step 3).
		f.executeRequest("w", messages.Request{FunctionID: "fn", Method: "m.wasm", Config: messages.Config{ConsensusAlgorithm: "paxos"}})
		if r := f.response(t); r.Code != messages.CodeError || !strings.Contains(r.Message, "paxos") {
			t.Fatalf("unknown consensus: %+v", r)
		}
	})
}

// A request a cluster committed runs like any other, but its result goes to the cluster's
// head (the entry's origin) with the function's own code, and it runs once even if committed
// twice; a drain does not refuse it.
func TestWork_RunsCommittedRequestsOnceForTheirOrigin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWorkFixture(t, 1, 1)
		origin := peer.ID("origin-head")
		commit := &runCommitted{Origin: origin, Msg: messages.MsgExecute{
			Request: messages.Request{FunctionID: "fn", Method: "m.wasm", Config: messages.Config{ConsensusAlgorithm: "raft"}}, RequestID: "c1"}}
		f.sys.Send(f.work, commit)
		f.sys.Send(f.work, commit) // running: not again
		synctest.Wait()
		close(f.runner.release)
		to, msg := f.sent(t)
		if r := msg.(messages.MsgExecuteResponse); to != origin || r.RequestID != "c1" || r.Results[self].Code != messages.CodeOK {
			t.Fatalf("committed run answered %+v to %s", r, to)
		}
		f.sys.Send(f.work, commit) // ran: not again
		f.nothingSent(t)
		f.runner.mu.Lock()
		defer f.runner.mu.Unlock()
		if len(f.runner.started) != 1 {
			t.Fatalf("ran %v", f.runner.started)
		}
	})
}

func TestWork_RollCallAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWorkFixture(t, 1, 0)
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn"})
		to, msg := f.sent(t)
		if r := msg.(messages.MsgRollCallResponse); to != head || r.Code != messages.CodeAccepted || r.FunctionID != "fn" {
			t.Fatalf("installed function: %+v to %s", r, to)
		}

		// Raft and PBFT clusters are served; a consensus of no known kind is not.
		for _, c := range []messages.ConsensusType{messages.ConsensusRaft, messages.ConsensusPBFT} {
			f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Consensus: c})
			if _, msg := f.sent(t); msg.(messages.MsgRollCallResponse).Code != messages.CodeAccepted {
				t.Fatalf("%s roll call: %+v", c, msg)
			}
		}
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Consensus: 7})
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Attributes: &messages.Attributes{AttestationRequired: true}})
		f.nothingSent(t)
		if n := testutil.ToFloat64(f.metrics.rollCallsSkipped.WithLabelValues(skipConsensus)); n != 1 {
			t.Fatalf("consensus skips %v", n)
		}

		// Not installed: the worker asks the installer and answers with the outcome.
		f.rollCall(t, messages.MsgRollCall{FunctionID: "new"})
		req := actortest.Expect[*installRequest](t, f.installer, time.Minute)
		f.nothingSent(t)
		f.sys.Send(req.ReplyTo, &installResult{CID: "new"})
		_, msg = f.sent(t)
		if r := msg.(messages.MsgRollCallResponse); r.Code != messages.CodeAccepted || r.FunctionID != "new" {
			t.Fatalf("after install: %+v", r)
		}
		f.rollCall(t, messages.MsgRollCall{FunctionID: "broken"})
		req = actortest.Expect[*installRequest](t, f.installer, time.Minute)
		f.sys.Send(req.ReplyTo, &installResult{CID: "broken", Err: context.DeadlineExceeded})
		_, msg = f.sent(t)
		if r := msg.(messages.MsgRollCallResponse); r.Code != messages.CodeError {
			t.Fatalf("failed install: %+v", r)
		}

		// Busy (one running, no queue): no volunteering.
		f.execute("a", "fn")
		synctest.Wait()
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn"})
		f.nothingSent(t)
		if n := testutil.ToFloat64(f.metrics.rollCallsSkipped.WithLabelValues(skipBusy)); n != 1 {
			t.Fatalf("busy skips %v", n)
		}
		close(f.runner.release)
	})
}

// attestation returns a verified attestation of pairs for this worker (self's key), attested by
// attestors.
func attestation(t testing.TB, attestors []crypto.PrivKey, pairs ...string) *attest.Loaded {
	t.Helper()
	a := attest.Attestation{}
	for i := 0; i+1 < len(pairs); i += 2 {
		a.Attributes = append(a.Attributes, attest.Attribute{Name: pairs[i], Value: pairs[i+1]})
	}
	if err := attest.Sign(&a, selfKey); err != nil {
		t.Fatal(err)
	}
	for _, k := range attestors {
		if err := attest.AddAttestor(&a, k); err != nil {
			t.Fatal(err)
		}
	}
	l, err := attest.NewLoaded(a, self, "test", [32]byte{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWork_RollCallWithAttributesAnswersOnlyWhenTheAttestationMatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWorkFixture(t, 1, 1)
		attestor, stranger := newKey(t), newKey(t)
		attestorID, strangerID := idOf(t, attestor), idOf(t, stranger)
		eu := func() *messages.Attributes {
			return &messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "eu"}}}
		}
		skipped := func(reason string) float64 {
			return testutil.ToFloat64(f.metrics.rollCallsSkipped.WithLabelValues(reason))
		}

		// Nothing loaded: silent on every roll call with attributes, counted.
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Attributes: eu()})
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Attributes: &messages.Attributes{}})
		f.nothingSent(t)
		if n := skipped("no_attestation"); n != 2 {
			t.Fatalf("no_attestation skips %v", n)
		}

		f.attestation.Set(attestation(t, []crypto.PrivKey{attestor}, "region", "eu"))
		accepted := []*messages.Attributes{
			eu(),
			{AttestationRequired: true},
			{Attestors: messages.Attestors{Each: []peer.ID{attestorID}}},
			{Values: eu().Values, Attestors: messages.Attestors{OneOf: []peer.ID{strangerID, attestorID}}},
		}
		for _, a := range accepted {
			f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Attributes: a})
			if _, msg := f.sent(t); msg.(messages.MsgRollCallResponse).Code != messages.CodeAccepted {
				t.Fatalf("%+v: %+v", a, msg)
			}
		}
		refused := map[string]*messages.Attributes{
			"attribute_value":   {Values: []messages.Parameter{{Name: "region", Value: "us"}}},
			"attribute_missing": {Values: []messages.Parameter{{Name: "gpu", Value: "yes"}}},
			"attestor_each":     {Attestors: messages.Attestors{Each: []peer.ID{attestorID, strangerID}}},
			"attestor_one_of":   {Attestors: messages.Attestors{OneOf: []peer.ID{strangerID}}},
		}
		for reason, a := range refused {
			f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Attributes: a})
			f.nothingSent(t)
			if n := skipped(reason); n != 1 {
				t.Fatalf("%s skips %v", reason, n)
			}
		}

		// A new attestation takes effect at the next roll call; an unattested one fails
		// attestation_required.
		f.attestation.Set(attestation(t, nil, "region", "us"))
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Attributes: eu()})
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Attributes: &messages.Attributes{AttestationRequired: true}})
		f.nothingSent(t)
		if skipped("attribute_value") != 2 || skipped("not_attested") != 1 {
			t.Fatal("skips after the swap not counted")
		}
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Attributes: &messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "us"}}}})
		if _, msg := f.sent(t); msg.(messages.MsgRollCallResponse).Code != messages.CodeAccepted {
			t.Fatalf("after the swap: %+v", msg)
		}
		// Without attributes the attestation plays no part.
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn"})
		if _, msg := f.sent(t); msg.(messages.MsgRollCallResponse).Code != messages.CodeAccepted {
			t.Fatalf("no attributes: %+v", msg)
		}
	})
}

func withMemory(pages uint64) messages.Request {
	return messages.Request{FunctionID: "fn", Method: "m.wasm", Config: messages.Config{Runtime: messages.RuntimeConfig{Memory: pages}}}
}

// Executions reserve their memory limit against the worker's budget: what does not fit waits
// in the queue, oldest first (nothing overtakes), and starts when enough is released; what
// could never fit is refused at once.
func TestWork_MemoryBudgetHoldsExecutionsInTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newBudgetFixture(t, 10, 10, executor.Reservation{Memory: 512 << 20, Disk: 1 << 30})
		f.execute("a", "fn")                      // 256 MiB
		f.execute("b", "fn")                      // 256 MiB: the budget is spent
		f.executeRequest("small", withMemory(16)) // 1 MiB: waits all the same
		f.execute("c", "fn")                      // waits behind it
		f.executeRequest("huge", withMemory(65536))
		r := f.response(t)
		if r.RequestID != "huge" || r.Code != messages.CodeNotAvailable || r.Results[self].Result.ExitCode != executor.ExitLoadFailure ||
			!strings.Contains(r.Message, "budget is 512 MiB") {
			t.Fatalf("an execution larger than the budget: %+v", r)
		}
		synctest.Wait()
		if got := f.runner.ran(); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("running %v, want a and b", got)
		}
		f.runner.finish("a")
		if r := f.response(t); r.RequestID != "a" || r.Code != messages.CodeOK {
			t.Fatalf("a: %+v", r)
		}
		synctest.Wait()
		if got := f.runner.ran(); !slices.Equal(got, []string{"a", "b", "small"}) {
			t.Fatalf("running %v: small fits beside b, c does not yet", got)
		}
		f.runner.finish("small")
		f.response(t)
		synctest.Wait()
		if got := f.runner.ran(); !slices.Equal(got, []string{"a", "b", "c", "small"}) {
			t.Fatalf("running %v: c fits once small is done", got)
		}
		close(f.runner.release)
		f.response(t)
		f.response(t)
	})
}

// A worker whose budget is spent and whose queue is full neither volunteers nor accepts more.
func TestWork_SpentBudgetAndFullQueueIsBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newBudgetFixture(t, 10, 0, executor.Reservation{Memory: 256 << 20, Disk: 1 << 30})
		f.execute("a", "fn")
		synctest.Wait()
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn"})
		f.nothingSent(t)
		if n := testutil.ToFloat64(f.metrics.rollCallsSkipped.WithLabelValues(skipBusy)); n != 1 {
			t.Fatalf("busy skips %v", n)
		}
		f.execute("b", "fn")
		if r := f.response(t); r.RequestID != "b" || r.Code != messages.CodeNotAvailable ||
			!strings.Contains(r.Message, "256 of 256 MiB of memory") {
			t.Fatalf("refusal %+v", r)
		}
		close(f.runner.release)
		f.response(t)
	})
}

// A worker bounds each run by its request's deadline: its timeout, else the node's execution
// timeout, counted from its arrival. The slot is free again at that moment, and a request
// whose deadline passed while it waited is answered "408" without running.
func TestWork_AnExecutionEndsAtItsRequestsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWorkFixture(t, 1, 2)
		start := time.Now()
		f.executeRequest("own", messages.Request{FunctionID: "fn", Method: "m.wasm", Config: messages.Config{Timeout: 3}})
		f.execute("default", "fn")
		f.executeRequest("late", messages.Request{FunctionID: "fn", Method: "m.wasm", Config: messages.Config{Timeout: 2}})
		got := map[string]messages.MsgExecuteResponse{}
		for range 2 {
			r := f.response(t)
			got[r.RequestID] = r
		}
		if d := f.runner.deadline("own"); !d.Equal(start.Add(3 * time.Second)) {
			t.Fatalf("own ran until %v, want its timeout of 3 s", d.Sub(start))
		}
		if r := got["own"]; r.Code != messages.CodeTimeout || r.Results[self].Result.ExitCode != executor.ExitTimeout {
			t.Fatalf("own: %+v", r)
		}
		if r := got["late"]; r.Code != messages.CodeTimeout || r.Results[self].Result.ExitCode != executor.ExitTimeout || r.Message == "" {
			t.Fatalf("late: %+v", r)
		}
		synctest.Wait()
		if d := f.runner.deadline("default"); !d.Equal(start.Add(fixtureExecutionTimeout)) {
			t.Fatalf("default ran until %v, want the execution timeout", d.Sub(start))
		}
		if r := f.response(t); r.RequestID != "default" || r.Code != messages.CodeTimeout || time.Since(start) != fixtureExecutionTimeout {
			t.Fatalf("default: %+v after %v", r, time.Since(start))
		}
		if slices.Contains(f.runner.runs(), "late") {
			t.Fatal("late ran after its deadline")
		}
		f.execute("next", "fn")
		f.runner.finish("next")
		if r := f.response(t); r.RequestID != "next" || r.Code != messages.CodeOK {
			t.Fatalf("next: %+v", r)
		}
	})
}

// An execution that did not run to its own exit never reads as a success: refusals carry exit
// 101 (could not be loaded), a method outside the function is "400", and a run stopped with
// the node carries exit 12 (interrupted) and "500".
func TestWork_RefusalsAndStopsNeverLookLikeSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWorkFixture(t, 1, 0)
		f.executeRequest("escape", messages.Request{FunctionID: "fn", Method: "../../../../b7s"})
		r := f.response(t)
		if r.Code != messages.CodeInvalid || r.Results[self].Code != messages.CodeInvalid ||
			r.Results[self].Result.ExitCode != executor.ExitLoadFailure || !strings.Contains(r.Message, "../../../../b7s") {
			t.Fatalf("method outside the function: %+v", r)
		}
		f.execute("x", "missing")
		if r := f.response(t); r.Code != messages.CodeNotFound || r.Results[self].Result.ExitCode != executor.ExitLoadFailure {
			t.Fatalf("not installed: %+v", r)
		}
		f.execute("a", "fn")
		synctest.Wait()
		f.execute("b", "fn")
		if r := f.response(t); r.Code != messages.CodeNotAvailable || r.Results[self].Result.ExitCode != executor.ExitLoadFailure {
			t.Fatalf("busy: %+v", r)
		}
		if got := f.runner.runs(); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("ran %v", got)
		}
		f.sys.Root.Stop(f.work) // as when the node stops
		r = f.response(t)
		res := r.Results[self]
		if r.RequestID != "a" || r.Code != messages.CodeError || res.Code != messages.CodeError ||
			res.Result.ExitCode != executor.ExitInterrupted || r.Message == "" {
			t.Fatalf("stopped run: %+v", r)
		}
	})
}

func TestTruthful_OnlyACleanRunIsASuccess(t *testing.T) {
	ok := messages.ExecutionResult{Code: messages.CodeOK, Result: messages.RuntimeOutput{Stdout: "hi"}}
	tests := []struct {
		name string
		in   messages.ExecutionResult
		err  error
		code messages.Code
		exit int
	}{
		{"clean", ok, nil, messages.CodeOK, 0},
		{"error with 200 and exit 0", ok, errors.New("boom"), messages.CodeError, executor.ExitUnknownFailure},
		{"no code", messages.ExecutionResult{}, nil, messages.CodeError, executor.ExitUnknownFailure},
		{"timeout keeps its codes", messages.ExecutionResult{Code: messages.CodeTimeout, Result: messages.RuntimeOutput{ExitCode: 15}},
			context.DeadlineExceeded, messages.CodeTimeout, 15},
		{"failure with exit 0", messages.ExecutionResult{Code: messages.CodeError}, errors.New("x"), messages.CodeError, executor.ExitUnknownFailure},
	}
	for _, tt := range tests {
		got := truthful(tt.in, tt.err)
		if got.Code != tt.code || got.Result.ExitCode != tt.exit {
			t.Errorf("%s: code %s exit %d, want %s %d", tt.name, got.Code, got.Result.ExitCode, tt.code, tt.exit)
		}
	}
}

func TestWork_RunTimeoutIsTheRequestsOrTheDefault(t *testing.T) {
	w := &work{cfg: workConfig{ExecutionTimeout: fixtureExecutionTimeout}}
	for _, tt := range []struct {
		timeout int
		want    time.Duration
	}{
		{0, fixtureExecutionTimeout},
		{-5, fixtureExecutionTimeout},
		{3, 3 * time.Second},
		{86400, maxRunTimeout},
		{86401, maxRunTimeout},
		{math.MaxInt, maxRunTimeout}, // would wrap around as a duration
	} {
		if got := w.runTimeout(messages.Config{Timeout: tt.timeout}); got != tt.want {
			t.Errorf("timeout %d: %v, want %v", tt.timeout, got, tt.want)
		}
	}
}

// A MsgExecute sent again after its request ran gets the same result and does not run the
// function twice; the same request ID from another peer (request IDs are public: roll calls
// carry them) gets nothing.
func TestWork_RepeatedExecuteGetsTheResultAgainWithoutRunningTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWorkFixture(t, 1, 0)
		f.execute("a", "fn")
		synctest.Wait()
		f.runner.finish("a")
		first := f.response(t)
		if first.Code != messages.CodeOK || first.Results[self].Result.Stdout != "ran a" {
			t.Fatalf("first answer %+v", first)
		}
		synctest.Wait() // the execution has stopped and the work actor has seen it

		f.execute("a", "fn")
		again := f.response(t)
		if again.RequestID != "a" || again.Code != messages.CodeOK || again.Results[self].Result.Stdout != "ran a" {
			t.Fatalf("answer to the repeat %+v", again)
		}
		if got := f.runner.runs(); len(got) != 1 {
			t.Fatalf("runs %v, want a once", got)
		}

		f.sys.Send(f.work, &delivery{Pipeline: pipeline{Direct: true}, From: newPeerID(), Author: head,
			Message: messages.MsgExecute{Request: messages.Request{FunctionID: "fn", Method: "m.wasm"}, RequestID: "a"}})
		f.nothingSent(t)
		if got := f.runner.runs(); len(got) != 1 {
			t.Fatalf("runs %v, want a once", got)
		}
	})
}
