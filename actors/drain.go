package actors

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/b7s-actor/b7s/messages"
)

// drainState says whether the node is draining: taking no new work while it finishes what it
// holds. It lives outside the actors that read it, so a restarted actor still knows.
type drainState struct{ on atomic.Bool }

// active reports whether the node is draining. Nil (tests that build one actor) never is.
func (s *drainState) active() bool { return s != nil && s.on.Load() }

// drainWait asks the actor that owns the node's work (requests on a head, work on a worker)
// to answer drained once it holds none. The sender is remembered until then.
type drainWait struct{}

// drained answers drainWait.
type drained struct{}

// drainWaiters are the senders of drainWait an actor still owes an answer.
type drainWaiters []*actor.PID

// add remembers who asked and answers at once when the actor is idle.
func (w *drainWaiters) add(ctx actor.Context, idle bool) {
	if ctx.Sender() != nil {
		*w = append(*w, ctx.Sender())
	}
	w.notify(ctx, idle)
}

// notify answers every waiter when the actor is idle.
func (w *drainWaiters) notify(ctx actor.Context, idle bool) {
	if !idle || len(*w) == 0 {
		return
	}
	for _, pid := range *w {
		ctx.Send(pid, &drained{})
	}
	*w = nil
}

// draining is the refusal a draining node gives new work (spec code "503"), as a busy worker's.
const drainingMessage = "node is shutting down; send the request to another node"

// ErrDrainTimeout is returned by Drain when work was still running when its context ended.
var ErrDrainTimeout = errors.New("work still running when the drain ended")

// Drain stops the node taking new work and returns once the work it holds is done, or when
// ctx ends. A head answers MsgExecute from peers with "503" (REST is the API's to refuse); a
// worker stays silent on roll calls and answers MsgExecute with "503". Requests and
// executions already running go on and answer as usual. Draining cannot be undone; Stop ends
// the node.
func (n *Node) Drain(ctx context.Context) error {
	n.drain.on.Store(true)
	owner := n.child("work")
	if n.cfg.Role == RoleHead {
		owner = n.child("requests")
	}
	wait := time.Hour // no deadline: ctx ends the wait
	if deadline, ok := ctx.Deadline(); ok {
		wait = time.Until(deadline)
	}
	if wait <= 0 {
		return fmt.Errorf("drain: %w", ErrDrainTimeout)
	}
	future := n.root.RequestFuture(owner, &drainWait{}, wait)
	done := make(chan error, 1)
	go func() {
		_, err := future.Result()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("drain: %w (%w)", ErrDrainTimeout, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain: %w (%w)", ErrDrainTimeout, context.Cause(ctx))
	}
}

// Draining reports whether Drain was called.
func (n *Node) Draining() bool { return n.drain.active() }

// refuseDraining answers a peer's MsgExecute on a draining head.
func refuseDraining(m messages.MsgExecute) messages.MsgExecuteResponse {
	resp := m.Response(messages.CodeNotAvailable)
	resp.Message = drainingMessage
	return resp
}
