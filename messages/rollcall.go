package messages

import (
	"errors"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MsgRollCall is published by the head to find workers for a request.
type MsgRollCall struct {
	TraceInfo
	Origin     peer.ID       `json:"origin,omitempty"` // the head; responses go here
	FunctionID string        `json:"function_id,omitempty"`
	RequestID  string        `json:"request_id,omitempty"`
	Consensus  ConsensusType `json:"consensus"` // never omitted
	Attributes *Attributes   `json:"attributes,omitempty"`
}

func (MsgRollCall) Type() string { return TypeRollCall }

// Valid requires what a worker needs to answer: an origin to answer to and the function and
// request to answer about. Every b7s head sets all three.
func (m MsgRollCall) Valid() error {
	var errs []error
	if m.Origin == "" {
		errs = append(errs, errors.New("origin is empty"))
	}
	if m.FunctionID == "" {
		errs = append(errs, errors.New("function_id is empty"))
	}
	if m.RequestID == "" {
		errs = append(errs, errors.New("request_id is empty"))
	}
	return invalid(m.Type(), errs)
}

func (m MsgRollCall) MarshalJSON() ([]byte, error) {
	type alias MsgRollCall
	return marshalWithType(alias(m), m.Type())
}

// Response is a worker's answer to this roll call; it keeps the trace.
func (m MsgRollCall) Response(code Code) MsgRollCallResponse {
	return MsgRollCallResponse{TraceInfo: m.TraceInfo, Code: code, FunctionID: m.FunctionID, RequestID: m.RequestID}
}

// MsgRollCallResponse is a worker's answer to a roll call: "202" volunteers, anything else declines.
type MsgRollCallResponse struct {
	TraceInfo
	Code       Code   `json:"code,omitempty"`
	FunctionID string `json:"function_id,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
}

func (MsgRollCallResponse) Type() string { return TypeRollCallResponse }

// Valid requires the request ID: without it the head cannot match the response to a roll call.
func (m MsgRollCallResponse) Valid() error {
	if m.RequestID == "" {
		return invalid(m.Type(), []error{errors.New("request_id is empty")})
	}
	return nil
}

func (m MsgRollCallResponse) MarshalJSON() ([]byte, error) {
	type alias MsgRollCallResponse
	return marshalWithType(alias(m), m.Type())
}
