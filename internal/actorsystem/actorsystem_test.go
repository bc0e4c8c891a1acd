package actorsystem

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// quiet keeps protoactor's own log lines out of the test output.
var quiet = actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })

func TestNew_KeepsWhatTheSystemRegisteredAndWorks(t *testing.T) {
	sys := New(quiet)
	defer sys.Shutdown()
	if n := len(sys.ProcessRegistry.LocalPIDs.LocalPIDs); n != 1 {
		t.Fatalf("registry has %d buckets, want 1", n)
	}
	for _, id := range []string{"eventstream", "deadletter"} {
		if _, ok := sys.ProcessRegistry.Get(actor.NewPID(sys.Address(), id)); !ok {
			t.Errorf("%s is not registered after the registry was compacted", id)
		}
	}

	// Actors spawn, answer and stop; a stopped actor's ID is free again.
	echo := actor.PropsFromFunc(func(ctx actor.Context) {
		if s, ok := ctx.Message().(string); ok {
			ctx.Respond(s)
		}
	})
	for i := range 100 {
		name := fmt.Sprintf("echo-%d", i%10)
		pid, err := sys.Root.SpawnNamed(echo, name)
		if err != nil {
			t.Fatalf("spawn %s: %v", name, err)
		}
		got, err := sys.Root.RequestFuture(pid, name, 10*time.Second).Result()
		if err != nil || got != name {
			t.Fatalf("%s answered %v, %v", name, got, err)
		}
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatalf("stop %s: %v", name, err)
		}
	}
	if n := sys.ProcessRegistry.LocalPIDs.LocalPIDs[0].Count(); n != 2 {
		t.Errorf("%d processes registered after every actor and future ended, want 2 (event stream, dead letters)", n)
	}
}

// The reason for the package: what the registry keeps alive after many short-lived processes.
// protoactor's own registry keeps megabytes; ours, kilobytes.
func TestNew_RegistryStaysSmallAfterManyProcesses(t *testing.T) {
	retained := func(newSystem func() *actor.ActorSystem) uint64 {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		sys := newSystem()
		defer sys.Shutdown()
		for range 20_000 {
			f := actor.NewFuture(sys, time.Minute) // registered, then removed once answered
			sys.Root.Send(f.PID(), struct{}{})
			if _, err := f.Result(); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(sys)
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	}
	ours := retained(func() *actor.ActorSystem { return New(quiet) })
	theirs := retained(func() *actor.ActorSystem { return actor.NewActorSystem(quiet) })
	t.Logf("heap kept after 20,000 futures: compact registry %d KiB, protoactor's %d KiB", ours>>10, theirs>>10)
	if ours > 2<<20 {
		t.Errorf("the compact registry's system keeps %d KiB after 20,000 futures, want under 2 MiB", ours>>10)
	}
}
