package messages

import (
	"encoding/json"
	"errors"

	"github.com/libp2p/go-libp2p/core/peer"
)

// REST bodies of the head's API (spec §9). They are not wire messages: no "type", no carrier.

// ExecutionRequest is the body of POST /api/v1/functions/execute. It cannot carry a signature.
type ExecutionRequest struct {
	FunctionID string      `json:"function_id"`
	Method     string      `json:"method"`
	Parameters []Parameter `json:"parameters,omitempty"`
	Config     Config      `json:"config"`
	Topic      string      `json:"topic,omitempty"`
}

// Request is the execution request the body describes.
func (r ExecutionRequest) Request() Request {
	return Request{FunctionID: r.FunctionID, Method: r.Method, Parameters: r.Parameters, Config: r.Config}
}

// Valid is the REST check (400 when it fails): the rules of a request on the wire (function_id
// and method set, a known consensus_algorithm, enough nodes for PBFT). The original lets a bad
// consensus_algorithm through its REST door, runs it as Raft and gets every worker's "500"
// (quirk Q16); we refuse it here, where the client can still be told why.
func (r ExecutionRequest) Valid() error {
	return invalid("execution request", r.Request().problems())
}

// ExecutionResponse is the answer to POST /api/v1/functions/execute.
type ExecutionResponse struct {
	Cluster   Cluster            `json:"cluster"`
	Code      Code               `json:"code"`
	Message   string             `json:"message,omitempty"`
	RequestID string             `json:"request_id"`
	Results   []AggregatedResult `json:"results,omitempty"`
}

// AggregatedResult is one distinct output and the peers that produced it (spec §4.7).
type AggregatedResult struct {
	Result    RuntimeOutput `json:"result"`
	Peers     []peer.ID     `json:"peers,omitempty"`
	Metadata  NodeMetadata  `json:"metadata,omitempty"`
	Frequency float64       `json:"frequency,omitempty"` // percent, 0–100
}

// NodeMetadata is the metadata each peer attached to its result.
type NodeMetadata map[peer.ID]any

// MarshalJSON writes base58 peer IDs as keys (see ResultMap.MarshalJSON).
func (m NodeMetadata) MarshalJSON() ([]byte, error) {
	return json.Marshal(peerKeyed(m))
}

// InstallFunctionRequest is the body of POST /api/v1/functions/install.
type InstallFunctionRequest struct {
	CID   string `json:"cid"`
	URI   string `json:"uri"`
	Topic string `json:"topic"`
}

// Valid is the REST check (400 when it fails): the CID is required.
func (r InstallFunctionRequest) Valid() error {
	if r.CID == "" {
		return invalid("install request", []error{errors.New("cid is empty")})
	}
	return nil
}

// InstallFunctionResponse is the answer to POST /api/v1/functions/install.
type InstallFunctionResponse struct {
	Code Code `json:"code"`
}

// ResultRequest is the body of POST /api/v1/functions/requests/result; the answer is a ResultMap.
type ResultRequest struct {
	ID string `json:"id"`
}
