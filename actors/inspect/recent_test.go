package inspect_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
)

// job is a message that belongs to a request, as the node's wire messages do.
type job struct{ request string }

func describeJob(_ actor.Actor, msg any) inspect.Label {
	if j, ok := msg.(job); ok {
		return inspect.Label{Type: "job", Request: j.request}
	}
	return inspect.Label{Type: fmt.Sprintf("%T", msg)}
}

func ringSystem(t *testing.T, recent, retired int) *actortest.System {
	return actortest.NewSystem(t, actortest.WithInspect(inspect.Config{RecentMessages: recent, RetiredActors: retired}, describeJob))
}

func sink() actor.Actor { return actor.ReceiveFunc(func(actor.Context) {}) }

func waitMessages(t *testing.T, sys *actortest.System, id string, n int64) {
	t.Helper()
	sys.WaitActor(t, id, func(a inspect.ActorInfo) bool { return a.Messages == n }, 5*time.Second)
}

func TestRecent_RingKeepsTheLastMessagesOldestFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := ringSystem(t, 3, 8)
		pid := sys.Spawn(t, "a", "test", sink)
		for i := range 5 {
			sys.Send(pid, job{request: fmt.Sprint("r", i)})
		}
		waitMessages(t, sys, "a", 5)
		recs, ok := sys.Registry.Recent("a")
		if !ok || len(recs) != 3 {
			t.Fatalf("recent = %+v %v, want 3 records", recs, ok)
		}
		for i, want := range []string{"r2", "r3", "r4"} {
			if recs[i].Type != "job" || recs[i].Request != want || recs[i].Dir != inspect.DirIn {
				t.Errorf("record %d = %+v, want job %s", i, recs[i], want)
			}
		}
	})
}

func TestRecent_RecordsLifeSendersPanicsAndNotes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := ringSystem(t, 16, 8)
		sys.Spawn(t, "parent", "test-parent", parentProducer(sys.Registry),
			actor.WithSupervisor(actor.NewOneForOneStrategy(10, time.Minute, actor.DefaultDecider)))
		child := actor.NewPID(sys.Address(), "parent/worker")
		sys.WaitActor(t, "parent/worker", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)
		before := time.Now()
		sys.Send(child, boom{})
		info := sys.WaitActor(t, "parent/worker", func(a inspect.ActorInfo) bool {
			return a.Restarts == 1 && a.State == inspect.StateRunning
		}, 5*time.Second)
		if info.LastErrorAt.Before(before) {
			t.Errorf("last error at %v, want at or after %v", info.LastErrorAt, before)
		}
		sys.Ask(t, child, ping{}, time.Second)
		// The answer can arrive before the actor's handling of ping is recorded (the record is
		// kept once the handler returns); wait until the actor is idle.
		synctest.Wait()
		sys.Registry.Note(child, inspect.Label{Type: "sent", Request: "r9", Detail: "to elsewhere"})

		recs, _ := sys.Registry.Recent("parent/worker")
		var got []string
		for _, r := range recs {
			s := r.Dir + ":" + r.Type
			if strings.HasPrefix(r.Detail, "panic: ") {
				s += "(" + r.Detail + ")"
			}
			if r.Type == "inspect_test.ping" && !strings.HasPrefix(r.Sender, "future") {
				t.Errorf("ping record names sender %q, want the asking future", r.Sender)
			}
			got = append(got, s)
		}
		want := []string{"life:started", "in:inspect_test.boom(panic: boom requested)", "life:restarting", "life:started", "in:inspect_test.ping", "out:sent"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("ring:\n got %v\nwant %v", got, want)
		}
	})
}

func TestRecent_TraceFollowsARequestAcrossLiveAndStoppedActors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := ringSystem(t, 16, 8)
		router := sys.Spawn(t, "router", "router", sink)
		sys.Send(router, job{request: "other"})
		sys.Send(router, job{request: "r1"})
		waitMessages(t, sys, "router", 2)
		// A per-request actor is named by its request; everything it handled is on the path,
		// even messages that do not name the request, and it stays there after it stopped.
		per := sys.Spawn(t, "r1", "request", sink)
		sys.Send(per, "tick")
		waitMessages(t, sys, "r1", 1)
		sys.Registry.Note(per, inspect.Label{Type: "sent", Request: "r1"})
		if err := sys.Root.StopFuture(per).Wait(); err != nil {
			t.Fatal(err)
		}
		if !actortest.Eventually(time.Second, func() bool { _, live := sys.Registry.Find("r1"); return !live }) {
			t.Fatal("stopped actor still live")
		}
		steps := sys.Registry.Trace("r1")
		var got []string
		for _, s := range steps {
			got = append(got, s.Actor+" "+s.Dir+":"+s.Type)
		}
		want := []string{"router in:job", "r1 life:started", "r1 in:string", "r1 out:sent", "r1 life:stopping", "r1 life:stopped"}
		if strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Fatalf("trace:\n got %v\nwant %v", got, want)
		}
		for i := 1; i < len(steps); i++ {
			if steps[i].At.Before(steps[i-1].At) {
				t.Fatalf("steps out of time order: %+v", steps)
			}
		}
		if recs, ok := sys.Registry.Recent("r1"); !ok || len(recs) != 5 {
			t.Fatalf("a retired actor's ring: %v %v", recs, ok)
		}
	})
}

func TestRecent_RetiredActorsAreBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := ringSystem(t, 4, 2)
		for i := range 3 {
			name := fmt.Sprint("req", i)
			pid := sys.Spawn(t, name, "request", sink)
			if err := sys.Root.StopFuture(pid).Wait(); err != nil {
				t.Fatal(err)
			}
			if !actortest.Eventually(time.Second, func() bool { _, live := sys.Registry.Find(name); return !live }) {
				t.Fatal("stopped actor still live")
			}
		}
		if steps := sys.Registry.Trace("req0"); len(steps) != 0 {
			t.Errorf("the oldest retired actor is still kept: %+v", steps)
		}
		for _, kept := range []string{"req1", "req2"} {
			if steps := sys.Registry.Trace(kept); len(steps) == 0 {
				t.Errorf("%s: no path kept", kept)
			}
		}
	})
}

func TestRecent_OffKeepsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		pid := sys.Spawn(t, "a", "test", sink)
		sys.Send(pid, job{request: "r1"})
		waitMessages(t, sys, "a", 1)
		sys.Registry.Note(pid, inspect.Label{Type: "sent", Request: "r1"})
		if recs, ok := sys.Registry.Recent("a"); !ok || len(recs) != 0 {
			t.Errorf("recent = %v %v, want none for a live actor", recs, ok)
		}
		if _, ok := sys.Registry.Recent("nobody"); ok {
			t.Error("recent of an unknown actor reports it exists")
		}
		if steps := sys.Registry.Trace("r1"); len(steps) != 0 {
			t.Errorf("trace = %+v, want nothing", steps)
		}
	})
}

func TestConfig_Validate(t *testing.T) {
	for _, c := range []struct {
		cfg  inspect.Config
		errs []string
	}{
		{inspect.DefaultConfig(), nil},
		{inspect.Config{RecentMessages: inspect.MaxRecentMessages, RetiredActors: 0}, nil},
		{inspect.Config{RecentMessages: -1, RetiredActors: -1}, []string{"RecentMessages: -1 is below the minimum 0", "RetiredActors: -1 is below"}},
		{inspect.Config{RecentMessages: inspect.MaxRecentMessages + 1}, []string{"RecentMessages: 4097 is above the maximum 4096"}},
	} {
		err := c.cfg.Validate()
		if (err == nil) != (len(c.errs) == 0) {
			t.Errorf("%+v: %v, want errors %v", c.cfg, err, c.errs)
			continue
		}
		for _, want := range c.errs {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%+v: %v, want it to say %q", c.cfg, err, want)
			}
		}
	}
}

func TestPeers_NamesEachNodeOnceWithoutSelf(t *testing.T) {
	steps := []inspect.Step{
		{Record: inspect.Record{Peer: "self"}}, {Record: inspect.Record{Peer: "w1"}}, {Record: inspect.Record{}},
		{Record: inspect.Record{Peer: "w2"}}, {Record: inspect.Record{Peer: "w1"}},
	}
	if got := inspect.Peers(steps, "self"); strings.Join(got, ",") != "w1,w2" {
		t.Fatalf("peers = %v", got)
	}
}
