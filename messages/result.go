package messages

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ExecutionResult is what running a function produced: code, output and resource usage.
type ExecutionResult struct {
	Code   Code          `json:"code"`
	Result RuntimeOutput `json:"result"`
	Usage  Usage         `json:"usage"`
}

// RuntimeOutput is the function's output. All three keys are always written; aggregation groups
// results by this value, so it must stay comparable.
type RuntimeOutput struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
}

// Usage is the resource usage of one execution.
type Usage struct {
	WallClockTime time.Duration `json:"wall_clock_time,omitempty"`
	CPUUserTime   time.Duration `json:"cpu_user_time,omitempty"`
	CPUSysTime    time.Duration `json:"cpu_sys_time,omitempty"`
	MemoryMaxKB   int64         `json:"memory_max_kb,omitempty"`
	// FuelConsumed is not in the original: the fuel a limited_fuel execution was charged. It is
	// written only when set, and original nodes, which decode with encoding/json, ignore it.
	FuelConsumed uint64 `json:"fuel_consumed,omitempty"`
}

// NodeResult is one node's annotated result, the value type of ResultMap (spec §3.2).
type NodeResult struct {
	ExecutionResult

	Signature string         `json:"signature,omitempty"` // hex; only PBFT results are signed
	PBFT      PBFTResultInfo `json:"pbft"`
	// Metadata is decoded into an interface value, not kept raw, because the original does the
	// same and result signatures cover its re-marshalled form (sorted keys, float64 numbers).
	Metadata any `json:"metadata,omitempty"`
}

// PBFTResultInfo ties a PBFT result to the view and request it answers.
type PBFTResultInfo struct {
	View             uint      `json:"view"`
	RequestTimestamp time.Time `json:"request_timestamp"`
	Replica          peer.ID   `json:"replica,omitempty"`
}

// SigningPayload is the canonical byte form a result signature covers (spec §3.4): the Go JSON of
// the result with its signature left out.
func (r NodeResult) SigningPayload() ([]byte, error) {
	r.Signature = ""
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("result signing payload: %w", err)
	}
	return b, nil
}

// ResultMap holds results keyed by the peer that produced them.
type ResultMap map[peer.ID]NodeResult

// MarshalJSON writes base58 peer IDs as keys. encoding/json would write the raw multihash bytes,
// because it prefers a string-kinded key over its MarshalText. Decoding needs no help: it does use
// peer.ID's UnmarshalText (which rejects an empty key).
func (m ResultMap) MarshalJSON() ([]byte, error) {
	return json.Marshal(peerKeyed(m))
}

// Cluster is the set of peers that executed a request. Main is never set by b7s.
type Cluster struct {
	Main  peer.ID   `json:"main,omitempty"`
	Peers []peer.ID `json:"peers,omitempty"`
}

// peerKeyed re-keys a peer map by base58 strings so that it marshals as the spec says. Like the
// original, a nil map marshals as {} rather than null.
func peerKeyed[V any](m map[peer.ID]V) map[string]V {
	out := make(map[string]V, len(m))
	for id, v := range m {
		out[id.String()] = v
	}
	return out
}
