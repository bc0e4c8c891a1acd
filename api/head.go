package api

import (
	"context"

	"github.com/b7s-actor/b7s/messages"
)

// Head is what the REST endpoints of spec §9 call on a head node. The actor layer implements it.
type Head interface {
	// Execute runs a request to completion: roll call, execution, gathering. The returned
	// response carries the outcome code (200, 206, 204, 408, 500…) with a message whenever the
	// code is not 200; err is only for failures of the node itself. Cancelling ctx (the HTTP
	// client went away) cancels the request.
	Execute(ctx context.Context, req messages.ExecutionRequest) (messages.ExecutionResponse, error)
	// Install publishes MsgInstallFunction for cid (manifest at manifestURL) on topic ("" for
	// the default topic) and returns once it is published.
	Install(ctx context.Context, manifestURL, cid, topic string) error
	// Result returns the results of a finished request by the request_id Execute returned.
	Result(requestID string) (messages.ResultMap, bool)
}
