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
// executions and waits for its outcome through a future bounded by the request's deadlines.
// Cancelling ctx cancels the request.
func (n *Node) Execute(ctx context.Context, req messages.ExecutionRequest) (messages.ExecutionResponse, error) {
	if n.cfg.Role != RoleHead {
		return messages.ExecutionResponse{}, ErrNotHead
	}
	id := uuid.NewString()
	rollCall, exec := n.cfg.RollCallTimeout, n.cfg.ExecutionTimeout
	if t := req.Config.Timeout; t > 0 {
		rollCall = time.Duration(t) * time.Second
		exec = rollCall
	}
	// The supervisor answers by its own deadlines; the future's is only a backstop.
	future := n.root.RequestFuture(n.Child("executions"),
		&StartRequest{RequestID: id, Request: req.Request(), Topic: req.Topic}, rollCall+exec+10*time.Second)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			n.root.Send(n.Child("executions"), &CancelRequest{RequestID: id, Reason: context.Cause(ctx).Error()})
		case <-done:
		}
	}()
	res, err := future.Result()
	close(done)
	if err != nil {
		return messages.ExecutionResponse{}, fmt.Errorf("request %s: %w", id, err)
	}
	out := res.(*RequestDone).Response
	return messages.ExecutionResponse{
		Cluster:   out.Cluster,
		Code:      out.Code,
		Message:   out.Message,
		RequestID: id,
		Results:   messages.Aggregate(out.Results),
	}, nil
}

// Install publishes MsgInstallFunction on topic ("" for the default topic).
func (n *Node) Install(ctx context.Context, manifestURL, cid, topic string) error {
	if topic == "" {
		topic = p2p.DefaultTopic
	}
	data, err := messages.Encode(messages.MsgInstallFunction{ManifestURL: manifestURL, CID: cid})
	if err != nil {
		return err
	}
	if err := n.host.Publish(ctx, topic, data); err != nil {
		return fmt.Errorf("publish install of %s on %s: %w", cid, topic, err)
	}
	n.metrics.MessagesPublished.WithLabelValues(messages.TypeInstallFunction, topic).Inc()
	return nil
}

// Result returns the results of a finished request.
func (n *Node) Result(requestID string) (messages.ResultMap, bool) { return n.results.Get(requestID) }
