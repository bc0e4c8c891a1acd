package inspect

import (
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// fakeContext is the part of a receiver context the middleware reads.
type fakeContext struct {
	actor.ReceiverContext
	a actor.Actor
}

func (c fakeContext) Actor() actor.Actor { return c.a }

type benchMessage struct{ id string }

// BenchmarkReceiverMiddleware is the inspection middleware's own cost per message, without an
// actor system around it: what every message of every actor pays, with and without a ring.
func BenchmarkReceiverMiddleware(b *testing.B) {
	for _, c := range []struct {
		name   string
		recent int
	}{{"rings=off", 0}, {"rings=32", 32}} {
		b.Run(c.name, func(b *testing.B) {
			reg := NewRegistry(Config{RecentMessages: c.recent, RetiredActors: 8}, func(_ actor.Actor, msg any) Label {
				return Label{Type: "bench", Request: msg.(*benchMessage).id}
			})
			e := &entry{id: "a", name: "a", kind: "bench", mailbox: &mailboxProbe{}}
			if c.recent > 0 {
				e.ring = newRing(c.recent)
			}
			e.state.Store(StateRunning)
			e.behaviour.Store("")
			e.lastError.Store("")
			self := &atomic.Pointer[entry]{}
			self.Store(e)
			receive := reg.receiverMiddleware(self)(func(actor.ReceiverContext, *actor.MessageEnvelope) {})
			var ctx actor.ReceiverContext = fakeContext{a: actor.ReceiveFunc(func(actor.Context) {})}
			env := &actor.MessageEnvelope{Message: &benchMessage{id: "r1"}, Sender: actor.NewPID("local", "sender")}
			for b.Loop() {
				receive(ctx, env)
			}
		})
	}
}
