package messages

import (
	"errors"
	"fmt"
	"time"
)

// PBFTMinNodes is the smallest cluster PBFT can run in (n ≥ 3f+1 with f = 1).
const PBFTMinNodes = 4

// MsgExecute asks a head (from a client) or a worker (from the head) to run a function. The
// execution request is flattened into the top level.
type MsgExecute struct {
	TraceInfo
	Request

	Topic     string    `json:"topic,omitempty"`      // roll-call subgroup; only the head reads it
	RequestID string    `json:"request_id,omitempty"` // set by the head; required by workers
	Timestamp time.Time `json:"timestamp"`            // set by the head (UTC); zero from clients
}

func (MsgExecute) Type() string { return TypeExecute }

// Valid applies the rules of spec §3.3, all of them, joined.
func (m MsgExecute) Valid() error {
	return invalid(m.Type(), m.Request.problems())
}

func (m MsgExecute) MarshalJSON() ([]byte, error) {
	type alias MsgExecute
	return marshalWithType(alias(m), m.Type())
}

// Response starts the answer to this request; it keeps the trace and the request ID.
func (m MsgExecute) Response(code Code) MsgExecuteResponse {
	return MsgExecuteResponse{TraceInfo: m.TraceInfo, RequestID: m.RequestID, Code: code}
}

// problems lists every rule of an execution request that r breaks.
func (r Request) problems() []error {
	var errs []error
	if r.FunctionID == "" {
		errs = append(errs, errors.New("function_id is empty"))
	}
	if r.Method == "" {
		errs = append(errs, errors.New("method is empty"))
	}
	consensus, err := r.Config.Consensus()
	if err != nil {
		errs = append(errs, err)
	}
	if n := r.Config.NumberOfNodes; consensus == ConsensusPBFT && n > 0 && n < PBFTMinNodes {
		errs = append(errs, fmt.Errorf("minimum %d nodes needed for PBFT consensus, got %d", PBFTMinNodes, n))
	}
	return errs
}

// MsgExecuteResponse carries results: worker or replica to head, or head to client.
type MsgExecuteResponse struct {
	TraceInfo
	RequestID string    `json:"request_id,omitempty"`
	Code      Code      `json:"code,omitempty"`
	Results   ResultMap `json:"results,omitempty"` // a worker keys its result by its own ID
	Cluster   Cluster   `json:"cluster"`
	Message   string    `json:"message,omitempty"` // error text of a head's roll-call timeout
}

func (MsgExecuteResponse) Type() string { return TypeExecuteResponse }

// Valid accepts every response: even request_id may be missing (a head's roll-call timeout
// answer has none), and result keys were already checked when decoding.
func (MsgExecuteResponse) Valid() error { return nil }

func (m MsgExecuteResponse) MarshalJSON() ([]byte, error) {
	type alias MsgExecuteResponse
	return marshalWithType(alias(m), m.Type())
}
