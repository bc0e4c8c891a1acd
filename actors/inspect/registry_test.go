package inspect_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
)

type boom struct{}
type ping struct{}

// parent spawns one child "worker" that panics on boom and answers ping.
func parentProducer(reg *inspect.Registry) actor.Producer {
	return func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actor.Started); ok {
				_, _ = ctx.SpawnNamed(reg.Props("test-child", func() actor.Actor {
					return actor.ReceiveFunc(func(ctx actor.Context) {
						switch ctx.Message().(type) {
						case boom:
							panic("boom requested")
						case ping:
							ctx.Respond("pong")
						}
					})
				}), "worker")
			}
		})
	}
}

func TestRegistry_PanicShowsAsRestartAndActorKeepsWorking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		sys.Spawn(t, "parent", "test-parent", parentProducer(sys.Registry),
			actor.WithSupervisor(actor.NewOneForOneStrategy(10, time.Minute, actor.DefaultDecider)))
		child := actor.NewPID(sys.Address(), "parent/worker")
		sys.WaitActor(t, "parent/worker", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)

		sys.Send(child, boom{})
		info := sys.WaitActor(t, "parent/worker", func(a inspect.ActorInfo) bool {
			return a.Restarts == 1 && a.State == inspect.StateRunning
		}, 5*time.Second)
		if info.Mailbox != 0 {
			t.Errorf("mailbox %d after the panicking message was handled, want 0", info.Mailbox)
		}
		if !strings.Contains(info.LastError, "boom requested") {
			t.Fatalf("last error = %q, want the panic reason", info.LastError)
		}
		if got := sys.Ask(t, child, ping{}, time.Second); got != "pong" {
			t.Fatalf("after restart got %v, want pong", got)
		}

		tree := sys.Registry.Tree()
		if len(tree) != 1 || tree[0].Name != "parent" || len(tree[0].Children) != 1 || tree[0].Children[0].Name != "worker" {
			raw, _ := json.Marshal(tree)
			t.Fatalf("unexpected tree %s", raw)
		}
		var text bytes.Buffer
		if err := inspect.WriteText(&text, tree, time.Now()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text.String(), "  worker [test-child] running") || !strings.Contains(text.String(), "restarts=1") {
			t.Fatalf("text tree:\n%s", text.String())
		}
	})
}

func TestRegistry_StoppedActorsLeaveTheTree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		pid := sys.Spawn(t, "short", "test", func() actor.Actor { return actor.ReceiveFunc(func(actor.Context) {}) })
		sys.WaitActor(t, "short", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
		if !actortest.Eventually(time.Second, func() bool { _, ok := sys.Registry.Find("short"); return !ok }) {
			t.Fatal("stopped actor still in the registry")
		}
	})
}

func TestRegistry_FailedSpawnUnderATakenNameKeepsTheLiveEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		sys.Spawn(t, "taken", "first", func() actor.Actor { return actor.ReceiveFunc(func(actor.Context) {}) })
		sys.WaitActor(t, "taken", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)
		if _, err := sys.Root.SpawnNamed(sys.Registry.Props("second", func() actor.Actor {
			return actor.ReceiveFunc(func(actor.Context) {})
		}), "taken"); err == nil {
			t.Fatal("spawn under a taken name succeeded")
		}
		if a, ok := sys.Registry.Find("taken"); !ok || a.Kind != "first" {
			t.Fatalf("live actor's entry after the failed spawn: %+v %v", a, ok)
		}
	})
}

// heldRestart is a supervisor that restarts a failed child only when the test says so, as a
// restart backoff holds it.
type heldRestart struct{ restarts chan func() }

func (h heldRestart) HandleFailure(_ *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, _, _ any) {
	h.restarts <- func() { supervisor.RestartChildren(child) }
}

// Between its panic and its restart an actor is "failed", not "running": a listener waiting
// out its backoff must not look like one that listens (readiness reads this state).
func TestRegistry_AFailedActorIsFailedUntilItsRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		held := heldRestart{restarts: make(chan func(), 1)}
		sys.Spawn(t, "parent", "test-parent", parentProducer(sys.Registry), actor.WithSupervisor(held))
		child := actor.NewPID(sys.Address(), "parent/worker")
		sys.WaitActor(t, "parent/worker", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)

		sys.Send(child, boom{})
		restart := <-held.restarts
		synctest.Wait()
		info := sys.WaitActor(t, "parent/worker", func(a inspect.ActorInfo) bool { return a.State == inspect.StateFailed }, time.Second)
		if info.LastError == "" || info.Restarts != 0 {
			t.Fatalf("failed actor = %+v, want its error and no restart yet", info)
		}

		restart()
		sys.WaitActor(t, "parent/worker", func(a inspect.ActorInfo) bool {
			return a.State == inspect.StateRunning && a.Restarts == 1
		}, time.Second)
	})
}
