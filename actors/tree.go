package actors

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/b7s-actor/b7s/actors/inspect"
)

// tree is how a node's actors make the props of the actors they spawn: inspected by the node's
// registry, with the node's mailbox dispatcher and any extra receiver middleware the node was
// built with (the test harness's fault injection). Every actor of a node, root to per-request
// children, is spawned through it, so none is missing from the tree.
type tree struct {
	reg  *inspect.Registry
	opts []actor.PropsOption
}

func newTree(reg *inspect.Registry, dispatcher actor.Dispatcher, middleware []actor.ReceiverMiddleware) *tree {
	t := &tree{reg: reg}
	if dispatcher != nil {
		t.opts = append(t.opts, actor.WithDispatcher(dispatcher))
	}
	if len(middleware) > 0 {
		t.opts = append(t.opts, actor.WithReceiverMiddleware(middleware...))
	}
	return t
}

// props returns fresh props for an actor of the given kind.
func (t *tree) props(kind string, producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	return t.reg.Props(kind, producer, append(slices.Clip(t.opts), opts...)...)
}

// setBehaviour shows what an actor is doing now (a request's phase) in the tree.
func (t *tree) setBehaviour(pid *actor.PID, behaviour string) { t.reg.SetBehaviour(pid, behaviour) }
