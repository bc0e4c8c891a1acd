package messages

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Request is an execution request (execute.Request, spec §3.2). It travels flattened in MsgExecute,
// in the Raft log and in PBFT requests.
type Request struct {
	FunctionID string      `json:"function_id"` // function CID
	Method     string      `json:"method"`      // file inside the archive, e.g. hello.wasm
	Parameters []Parameter `json:"parameters,omitempty"`
	Config     Config      `json:"config"`
	Signature  string      `json:"signature,omitempty"` // lowercase hex; set by the head for PBFT
}

// Parameter is a name/value pair; only non-empty values reach the function.
type Parameter struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// EnvVar is an environment variable passed to the function.
type EnvVar struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// Config is the execution config of a request (spec §3.2).
type Config struct {
	Runtime            RuntimeConfig     `json:"runtime"`
	Environment        []EnvVar          `json:"env_vars,omitempty"`
	Stdin              *string           `json:"stdin,omitempty"` // a pointer: "" is written when set
	Permissions        []string          `json:"permissions,omitempty"`
	ResultAggregation  ResultAggregation `json:"result_aggregation"` // carried, ignored by nodes
	Attributes         *Attributes       `json:"attributes,omitempty"`
	NumberOfNodes      int               `json:"number_of_nodes,omitempty"`     // read through NodeCount
	Timeout            int               `json:"timeout,omitempty"`             // seconds; roll-call wait only
	ConsensusAlgorithm string            `json:"consensus_algorithm,omitempty"` // read through Consensus
	RawThreshold       float64           `json:"threshold,omitempty"`           // read through Threshold
}

// RuntimeConfig is passed to the runtime; every key is omitempty.
type RuntimeConfig struct {
	Entry         string `json:"entry,omitempty"`
	ExecutionTime uint64 `json:"run_time,omitempty"`
	DebugInfo     bool   `json:"debug_info,omitempty"`
	Fuel          uint64 `json:"limited_fuel,omitempty"`
	Memory        uint64 `json:"limited_memory,omitempty"`
	Logger        string `json:"runtime_logger,omitempty"`
	DriversRoot   string `json:"drivers_root_path,omitempty"`
}

// ResultAggregation is carried for compatibility; b7s nodes ignore it.
type ResultAggregation struct {
	Enable     bool        `json:"enable,omitempty"`
	Type       string      `json:"type,omitempty"`
	Parameters []Parameter `json:"parameters,omitempty"`
}

// Attributes restrict which workers may answer a roll call (spec §3.2, §4.4).
type Attributes struct {
	Values              []Parameter `json:"values,omitempty"`
	AttestationRequired bool        `json:"attestation_required,omitempty"`
	Attestors           Attestors   `json:"attestors"`
}

// Attestors name the peers that must (Each) or may (OneOf) have attested a worker.
type Attestors struct {
	Each  []peer.ID `json:"each,omitempty"`
	OneOf []peer.ID `json:"one_of,omitempty"`
}

// DefaultThreshold is the respond ratio used when the request gives none in (0, 1].
const DefaultThreshold = 0.6

// Threshold is the respond ratio of the request: its threshold when 0 < t ≤ 1, else 0.6.
func (c Config) Threshold() float64 {
	if c.RawThreshold > 0 && c.RawThreshold <= 1 {
		return c.RawThreshold
	}
	return DefaultThreshold
}

// NodeCount is the number of workers asked for, or -1 for "any number" (number_of_nodes < 1).
func (c Config) NodeCount() int {
	if c.NumberOfNodes < 1 {
		return -1
	}
	return c.NumberOfNodes
}

// RollCallTimeout is the roll-call wait the request asks for, or 0 when it leaves it to the node.
func (c Config) RollCallTimeout() time.Duration {
	if c.Timeout <= 0 {
		return 0
	}
	return time.Duration(c.Timeout) * time.Second
}

// Consensus parses consensus_algorithm.
func (c Config) Consensus() (ConsensusType, error) {
	return ParseConsensus(c.ConsensusAlgorithm)
}

// SigningPayload is the canonical byte form a request signature covers (spec §3.4): the Go JSON of
// the request with its signature left out. Unlike the original (quirk Q7) an existing signature is
// always cleared, so re-signing a signed request still verifies.
func (r Request) SigningPayload() ([]byte, error) {
	r.Signature = ""
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("request %s signing payload: %w", r.FunctionID, err)
	}
	return b, nil
}
