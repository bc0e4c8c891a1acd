package actors

import (
	"context"
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

// gatedRunner runs nothing until released; it records what it was asked to run.
type gatedRunner struct {
	mu      sync.Mutex
	started []string
	release chan struct{}
}

func (g *gatedRunner) Execute(ctx context.Context, req executor.Request) (executor.Result, error) {
	g.mu.Lock()
	g.started = append(g.started, req.RequestID)
	g.mu.Unlock()
	select {
	case <-g.release:
		return executor.Result{Code: messages.CodeOK, Stdout: "ran " + req.RequestID}, nil
	case <-ctx.Done():
		return executor.Result{Code: messages.CodeError}, ctx.Err()
	}
}

func (g *gatedRunner) runs() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.started...)
}

type installedFunctions map[string]bool

func (f installedFunctions) IsInstalled(cid string) bool { return f[cid] }
func (f installedFunctions) FunctionPath(cid, method string) (string, error) {
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
	metrics     *nodeMetrics
	attestation *attest.Holder // empty: no attestation loaded
}

func newWorkFixture(t *testing.T, concurrency, queue int) workFixture {
	sys := actortest.NewSystem(t)
	host := newFakeHost(self)
	runner := &gatedRunner{release: make(chan struct{})}
	installer := sys.NewProbe(t, "installer")
	metrics := newMetrics(nil)
	holder := &attest.Holder{}
	w := sys.Spawn(t, "work", "work", newWork(workConfig{
		Self: self, Concurrency: concurrency, QueueSize: queue, Attestation: holder,
		Runner: runner, Functions: installedFunctions{"fn": true}, Installer: installer.PID,
		Outbox:  testOutbox(t, host, sys),
		Results: newResultCache(10), Tree: newTree(sys.Registry, nil, nil), Metrics: metrics, Log: sys.Log,
	}), actor.WithSupervisor(newStopOnFailure()))
	return workFixture{sys: sys, work: w, host: host, runner: runner, installer: installer, metrics: metrics, attestation: holder}
}

func (f workFixture) execute(id, function string) {
	f.sys.Send(f.work, &delivery{Pipeline: pipeline{Direct: true}, From: head, Author: head,
		Message: messages.MsgExecute{Request: messages.Request{FunctionID: function, Method: "m.wasm"}, RequestID: id}})
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
		f.sys.Send(f.work, &delivery{Pipeline: pipeline{Direct: true}, From: head, Author: head,
			Message: messages.MsgExecute{Request: messages.Request{FunctionID: "fn", Method: "m.wasm",
				Config: messages.Config{ConsensusAlgorithm: "raft"}}, RequestID: "y"}})
		_, msg = f.sent(t)
		if r := msg.(messages.MsgExecuteResponse); r.Code != messages.CodeError || r.RequestID != "y" {
			t.Fatalf("consensus: %+v", r)
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

		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn", Consensus: messages.ConsensusRaft})
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
