package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/b7s-actor/b7s/actors/inspect"
)

// ActorMessages is the JSON body of GET /debug/actors/messages: one actor's recent messages.
type ActorMessages struct {
	ID string `json:"id"`
	// Kept is the ring's length (--recent-messages); 0 when the node keeps none.
	Kept     int              `json:"kept"`
	Messages []inspect.Record `json:"messages"`
}

func (d Deps) handleActorMessages(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, "query parameter id (an actor's ID, e.g. node/router) is required")
		return
	}
	recs, ok := d.Inspect.Recent(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no actor "+id+" (live, or stopped with its messages kept)")
		return
	}
	if recs == nil {
		recs = []inspect.Record{}
	}
	writeJSON(w, http.StatusOK, ActorMessages{ID: id, Kept: d.RecentMessages, Messages: recs})
}

// RequestTrace is the JSON body of GET /debug/actors/trace: the path of one request through
// this node and, asked of a head, through the workers that took part.
type RequestTrace struct {
	Request string `json:"request"`
	// Nodes is this node first, then each peer its path names, in the order they appear.
	Nodes []NodeTrace `json:"nodes"`
}

// NodeTrace is one node's part of a request's path.
type NodeTrace struct {
	Node  string         `json:"node"`
	Role  string         `json:"role,omitempty"`
	Steps []inspect.Step `json:"steps"`
	// Error says why a peer's part is missing: it does not speak the trace protocol (an
	// original b7s node), could not be reached, or keeps no recent messages.
	Error string `json:"error,omitempty"`
}

// PeerTracer asks another node for its part of a request's path (our own libp2p protocol,
// p2p.TraceProtocolID).
type PeerTracer interface {
	PeerTrace(ctx context.Context, peer, requestID string) (NodeTrace, error)
}

// peerTraceTimeout bounds the wait for each worker's part; they are asked at once.
const peerTraceTimeout = 5 * time.Second

// LocalTrace is this node's part of a request's path.
func (d Deps) LocalTrace(requestID string) NodeTrace {
	steps := d.Inspect.Trace(requestID)
	if steps == nil {
		steps = []inspect.Step{}
	}
	return NodeTrace{Node: d.NodeID, Role: d.Role, Steps: steps}
}

func (d Deps) handleTrace(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("request")
	if id == "" {
		writeError(w, http.StatusBadRequest, "query parameter request (a request ID) is required")
		return
	}
	local := d.LocalTrace(id)
	out := RequestTrace{Request: id, Nodes: []NodeTrace{local}}
	if d.Peers != nil && r.URL.Query().Get("peers") != "false" {
		peers := inspect.Peers(local.Steps, d.NodeID)
		parts := make([]NodeTrace, len(peers))
		var wg sync.WaitGroup
		for i, p := range peers {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), peerTraceTimeout)
				defer cancel()
				part, err := d.Peers.PeerTrace(ctx, p, id)
				if err != nil {
					part = NodeTrace{Node: p, Steps: []inspect.Step{}, Error: err.Error()}
				}
				part.Node = p // the peer speaks for itself only
				parts[i] = part
			})
		}
		wg.Wait()
		out.Nodes = append(out.Nodes, parts...)
	}
	writeJSON(w, http.StatusOK, out)
}
