package actortest

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/internal/actorsystem"
)

// System is an actor system for one test, with the node's inspection registry and logging.
// It shuts down when the test ends.
type System struct {
	*actor.ActorSystem
	// Root spawns registered actors; use it instead of ActorSystem.Root.
	Root     *actor.RootContext
	Registry *inspect.Registry
	Log      zerolog.Logger
}

// SystemOption configures a test System.
type SystemOption func(*systemOptions)

type systemOptions struct {
	inspect  inspect.Config
	describe inspect.Describer
}

// WithInspect makes the system's registry keep what cfg says (recent messages), labelling
// messages with describe (nil: by Go type).
func WithInspect(cfg inspect.Config, describe inspect.Describer) SystemOption {
	return func(o *systemOptions) { o.inspect, o.describe = cfg, describe }
}

// NewSystem starts an actor system for t. Call it inside synctest.Test to run the actors in
// virtual time. Its own log lines (protoactor's) and Log's go to t.Log at warning level and above.
// Its registry keeps no recent messages unless WithInspect says so.
func NewSystem(t testing.TB, opts ...SystemOption) *System {
	t.Helper()
	o := systemOptions{inspect: inspect.DefaultConfig()}
	for _, opt := range opts {
		opt(&o)
	}
	w := zerolog.NewTestWriter(t)
	log := zerolog.New(w).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	sys := actorsystem.New(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}))
	t.Cleanup(sys.Shutdown)
	reg := inspect.NewRegistry(o.inspect, o.describe)
	return &System{ActorSystem: sys, Root: reg.Root(sys), Registry: reg, Log: log}
}

// Spawn starts the actor under test as a root actor named name.
func (s *System) Spawn(t testing.TB, name, kind string, producer actor.Producer, opts ...actor.PropsOption) *actor.PID {
	t.Helper()
	pid, err := s.Root.SpawnNamed(s.Registry.Props(kind, producer, opts...), name)
	if err != nil {
		t.Fatalf("spawn %s: %v", name, err)
	}
	return pid
}

// Send delivers msg to pid from outside any actor.
func (s *System) Send(pid *actor.PID, msg any) { s.Root.Send(pid, msg) }

// Ask sends msg as a request and waits for the answer up to timeout.
func (s *System) Ask(t testing.TB, pid *actor.PID, msg any, timeout time.Duration) any {
	t.Helper()
	res, err := s.Root.RequestFuture(pid, msg, timeout).Result()
	if err != nil {
		t.Fatalf("ask %s %T: %v", pid.Id, msg, err)
	}
	return res
}

// WaitActor waits until the registry shows an actor with the given ID in the given state, or
// fails the test at the deadline.
func (s *System) WaitActor(t testing.TB, id string, cond func(inspect.ActorInfo) bool, timeout time.Duration) inspect.ActorInfo {
	t.Helper()
	var last inspect.ActorInfo
	ok := Eventually(timeout, func() bool {
		info, found := s.Registry.Find(id)
		last = info
		return found && cond(info)
	})
	if !ok {
		t.Fatalf("actor %s: condition not met within %s (last seen: %+v)", id, timeout, last)
	}
	return last
}

// Eventually polls cond until it holds or timeout passes, backing off from 1 ms to 50 ms. It is
// for state that has no event to wait on (the registry, metrics); under synctest it costs no
// real time.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		if wait < 50*time.Millisecond {
			wait *= 2
		}
	}
}

func describe(msg any) string { return fmt.Sprintf("%T %+v", msg, msg) }
