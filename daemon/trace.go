package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/p2p"
)

// inspectDeps are the API's view of this node's inspection, for the trace protocol too.
func (d *Daemon) inspectDeps() api.Deps {
	return api.Deps{Inspect: d.Node.Inspect(), NodeID: d.Host.ID().String(), Role: d.Config.Role,
		RecentMessages: d.Config.RecentMessages, Peers: peerTracer{host: d.Host}}
}

// answerTrace answers the trace protocol: this node's part of a request's path, told only to a
// peer that the path names (the head that asked for the work, a worker that did it), so that
// no other node learns what this one did.
func (d *Daemon) answerTrace(from peer.ID, requestID string) []byte {
	deps := d.inspectDeps()
	part := deps.LocalTrace(requestID)
	if !slices.Contains(inspect.Peers(part.Steps, deps.NodeID), from.String()) {
		part.Steps = []inspect.Step{}
		part.Error = fmt.Sprintf("this node keeps no record of %s taking part in request %s", from, requestID)
		if d.Config.RecentMessages == 0 {
			part.Error = "this node keeps no recent messages (--recent-messages 0)"
		}
	}
	out, err := json.Marshal(part)
	if err != nil {
		d.log.Warn().Err(err).Str("request", requestID).Msg("encode trace answer")
		return nil
	}
	return out
}

// peerTracer asks peers over the trace protocol.
type peerTracer struct{ host *p2p.Host }

func (t peerTracer) PeerTrace(ctx context.Context, p, requestID string) (api.NodeTrace, error) {
	id, err := peer.Decode(p)
	if err != nil {
		return api.NodeTrace{}, fmt.Errorf("peer %q: %w", p, err)
	}
	data, err := t.host.QueryTrace(ctx, id, requestID)
	if err != nil {
		return api.NodeTrace{}, err
	}
	var part api.NodeTrace
	if err := json.Unmarshal(data, &part); err != nil {
		return api.NodeTrace{}, fmt.Errorf("the answer of %s: %w", p, err)
	}
	if part.Steps == nil {
		part.Steps = []inspect.Step{}
	}
	return part, nil
}
