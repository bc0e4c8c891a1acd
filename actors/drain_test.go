package actors

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/messages"
)

// promiseWindow is how long the drain fixture's "202" binds it.
const promiseWindow = 5 * time.Second

// drainingWorkFixture is a work actor whose node can be drained.
func drainingWorkFixture(t *testing.T, concurrency, queue int) (workFixture, *drainState) {
	sys := actortest.NewSystem(t)
	host := newFakeHost(self)
	runner := newGatedRunner()
	installer := sys.NewProbe(t, "installer")
	metrics := newMetrics(nil)
	drain := &drainState{}
	w := sys.Spawn(t, "work", "work", newWork(workConfig{
		Self: self, Concurrency: concurrency, QueueSize: queue, Attestation: &attest.Holder{},
		Runner: runner, Functions: installedFunctions{"fn": true}, Installer: installer.PID,
		Outbox: testOutbox(t, host, sys), Results: newResultCache(10), Tree: newTree(sys.Registry, nil, nil),
		Metrics: metrics, Log: sys.Log, Drain: drain, ExecutionTimeout: time.Minute, PromiseWindow: promiseWindow,
	}), actor.WithSupervisor(newStopOnFailure()))
	return workFixture{sys: sys, work: w, host: host, runner: runner, installer: installer, metrics: metrics}, drain
}

func TestWork_DrainFinishesWhatItHoldsAndTakesNothingNew(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, drain := drainingWorkFixture(t, 1, 1)
		f.execute("a", "fn") // runs
		f.execute("b", "fn") // queued
		synctest.Wait()

		drain.on.Store(true)
		waiter := f.sys.NewProbe(t, "drain-waiter")
		f.sys.Root.RequestWithCustomSender(f.work, &drainWait{}, waiter.PID)

		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn"}) // silent: a draining worker volunteers for nothing
		f.nothingSent(t)
		if got := testutil.ToFloat64(f.metrics.rollCallsSkipped.WithLabelValues(skipDraining)); got != 1 {
			t.Errorf("roll calls skipped (draining) = %v, want 1", got)
		}
		f.execute("c", "fn") // new work is refused with 503
		_, msg := f.sent(t)
		if r := msg.(messages.MsgExecuteResponse); r.RequestID != "c" || r.Code != messages.CodeNotAvailable ||
			r.Message != drainingMessage || r.Results[self].Code != messages.CodeNotAvailable {
			t.Fatalf("refusal while draining: %+v", r)
		}
		waiter.ExpectNone(t, time.Second) // a and b still held

		close(f.runner.release)
		answered := map[string]messages.Code{}
		for range 2 {
			_, msg := f.sent(t)
			r := msg.(messages.MsgExecuteResponse)
			answered[r.RequestID] = r.Code
		}
		if answered["a"] != messages.CodeOK || answered["b"] != messages.CodeOK {
			t.Fatalf("in-flight work answered %v, want a and b 200", answered)
		}
		actortest.Expect[*drained](t, waiter, time.Minute)
	})
}

func TestWork_DrainWhenIdleAnswersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, drain := drainingWorkFixture(t, 1, 0)
		drain.on.Store(true)
		waiter := f.sys.NewProbe(t, "drain-waiter")
		f.sys.Root.RequestWithCustomSender(f.work, &drainWait{}, waiter.PID)
		actortest.Expect[*drained](t, waiter, time.Minute)
	})
}

func TestWork_RollCallWaitingForAnInstallStaysUnansweredWhenTheDrainBegins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, drain := drainingWorkFixture(t, 1, 0)
		f.rollCall(t, messages.MsgRollCall{FunctionID: "new"})
		req := actortest.Expect[*installRequest](t, f.installer, time.Minute)
		drain.on.Store(true)
		f.sys.Send(f.work, &installResult{CID: req.CID})
		f.nothingSent(t)
	})
}

// A roll call answered "202" just before the drain began is a promise: its head's MsgExecute
// runs, and the drain waits for it, instead of the request failing with "503". A stranger's
// MsgExecute with the same request ID is refused and leaves the promise to the head.
func TestWork_DrainKeepsTheRollCallsItAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, drain := drainingWorkFixture(t, 1, 0)
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn"})
		if _, msg := f.sent(t); msg.(messages.MsgRollCallResponse).Code != messages.CodeAccepted {
			t.Fatalf("roll call answered %+v, want 202", msg)
		}

		drain.on.Store(true)
		waiter := f.sys.NewProbe(t, "drain-waiter")
		f.sys.Root.RequestWithCustomSender(f.work, &drainWait{}, waiter.PID)
		waiter.ExpectNone(t, time.Second) // the promised MsgExecute may still come

		other := newPeerID()
		f.sys.Send(f.work, &delivery{Pipeline: pipeline{Direct: true}, From: other, Author: other,
			Message: messages.MsgExecute{Request: messages.Request{FunctionID: "fn", Method: "m.wasm"}, RequestID: "r-fn"}})
		if r := f.response(t); r.Code != messages.CodeNotAvailable {
			t.Fatalf("the promise is its head's, not %s's: answered %+v, want 503", other, r)
		}
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn"}) // draining: no new promise is made
		f.nothingSent(t)

		// The stranger's attempt did not use up the head's promise.
		f.execute("r-fn", "fn")
		waiter.ExpectNone(t, time.Second) // running
		close(f.runner.release)
		if r := f.response(t); r.RequestID != "r-fn" || r.Code != messages.CodeOK {
			t.Fatalf("the head's execute after a stranger's: %+v, want 200", r)
		}
		actortest.Expect[*drained](t, waiter, time.Minute)
	})
}

func TestWork_DrainEndsWhenAPromiseLapses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, drain := drainingWorkFixture(t, 1, 0)
		f.rollCall(t, messages.MsgRollCall{FunctionID: "fn"})
		f.sent(t) // 202; the head picks other workers and never sends MsgExecute
		start := time.Now()

		drain.on.Store(true)
		waiter := f.sys.NewProbe(t, "drain-waiter")
		f.sys.Root.RequestWithCustomSender(f.work, &drainWait{}, waiter.PID)
		actortest.Expect[*drained](t, waiter, time.Minute)
		if waited := time.Since(start); waited < promiseWindow || waited > promiseWindow+time.Second {
			t.Fatalf("drain ended %v after the roll call, want the promise window %v", waited, promiseWindow)
		}

		f.execute("r-fn", "fn") // too late
		if r := f.response(t); r.Code != messages.CodeNotAvailable {
			t.Fatalf("execute after the promise lapsed answered %+v, want 503", r)
		}
	})
}
