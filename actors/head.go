package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// ErrNotHead is returned by the head API on a worker.
var ErrNotHead = errors.New("this node is not a head")

// Execute runs a REST execution request on a head: it starts a request supervisor under
// requests and waits for its outcome through a future bounded by the request's deadlines.
// Cancelling ctx cancels the request. On an error the response still carries the request's ID
// when it had one, for the caller's logs.
func (n *Node) Execute(ctx context.Context, req messages.ExecutionRequest) (messages.ExecutionResponse, error) {
	if n.cfg.Role != RoleHead {
		return messages.ExecutionResponse{}, ErrNotHead
	}
	id := uuid.NewString()
	rollCall, exec := requestTimeouts(req.Config, n.cfg.RollCallTimeout, n.cfg.ExecutionTimeout)
	requests := n.child("requests")
	// The supervisor answers by its own deadlines; the future's is only a backstop.
	future := n.root.RequestFuture(requests,
		&startRequest{RequestID: id, Request: req.Request(), Topic: req.Topic, Carrier: n.tracing.Carrier(ctx)}, rollCall+exec+10*time.Second)
	// A callback rather than a goroutine per request waiting on ctx.
	stopWatching := context.AfterFunc(ctx, func() {
		n.root.Send(requests, &cancelRequest{RequestID: id, Reason: context.Cause(ctx).Error()})
	})
	res, err := future.Result()
	stopWatching()
	if err != nil {
		return messages.ExecutionResponse{RequestID: id}, fmt.Errorf("request %s: %w", id, err)
	}
	out := res.(*requestDone).Response
	return messages.ExecutionResponse{
		Cluster:   out.Cluster,
		Code:      out.Code,
		Message:   out.Message,
		RequestID: id,
		Results:   messages.Aggregate(out.Results),
	}, nil
}

// requestTimeouts are a request's roll-call and gather deadlines: its own timeout (seconds)
// for both when it sets one, else the node's defaults.
func requestTimeouts(c messages.Config, rollCall, exec time.Duration) (time.Duration, time.Duration) {
	if c.Timeout > 0 {
		t := time.Duration(c.Timeout) * time.Second
		return t, t
	}
	return rollCall, exec
}

// Install publishes MsgInstallFunction on topic ("" for the default topic) and returns once it
// is published or ctx ends.
func (n *Node) Install(ctx context.Context, manifestURL, cid, topic string) error {
	if topic == "" {
		topic = p2p.DefaultTopic
	}
	published := make(chan error, 1)
	n.outbox.publish(topic, messages.MsgInstallFunction{ManifestURL: manifestURL, CID: cid}, func(err error) { published <- err })
	select {
	case err := <-published:
		if err != nil {
			return fmt.Errorf("publish install of %s on %s: %w", cid, topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("publish install of %s on %s: %w", cid, topic, context.Cause(ctx))
	}
}

// Result returns the results of a finished request.
func (n *Node) Result(requestID string) (messages.ResultMap, bool) { return n.results.get(requestID) }
