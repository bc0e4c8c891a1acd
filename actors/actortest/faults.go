package actortest

import (
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Faults injects failures into the actors of one node under test. Build the node with
// Middleware among its receiver middleware; then Crash makes any live actor panic as if its
// own code had failed, so supervision, restarts and the inspection tree can be tested on a
// real node. A node built without it has no way to be crashed from outside.
type Faults struct {
	mu   sync.Mutex
	live map[string]liveActor // actor ID -> how to reach it
}

type liveActor struct {
	pid  *actor.PID
	root *actor.RootContext
}

// crash is the message that makes an actor panic; only Faults sends it.
type crash struct{ reason string }

// NewFaults returns an injector for one node.
func NewFaults() *Faults { return &Faults{live: make(map[string]liveActor)} }

// Middleware records every actor's address and turns a crash message into a panic inside the
// actor. It must run inside the inspection middleware, which records the panic.
func (f *Faults) Middleware(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
		switch m := env.Message.(type) {
		case *actor.Started:
			f.mu.Lock()
			f.live[ctx.Self().Id] = liveActor{pid: ctx.Self(), root: ctx.ActorSystem().Root}
			f.mu.Unlock()
		case *actor.Stopped:
			f.mu.Lock()
			if a, ok := f.live[ctx.Self().Id]; ok && a.pid == ctx.Self() {
				delete(f.live, ctx.Self().Id)
			}
			f.mu.Unlock()
		case *crash:
			panic(m.reason)
		}
		next(ctx, env)
	}
}

// Crash makes the live actor with the given ID (as the inspection tree shows it, e.g.
// "node/router") panic with reason. It fails if no such actor is running.
func (f *Faults) Crash(id, reason string) error {
	f.mu.Lock()
	a, ok := f.live[id]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("crash %s: no such live actor", id)
	}
	a.root.Send(a.pid, &crash{reason: reason})
	return nil
}
