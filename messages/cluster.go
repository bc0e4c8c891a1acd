package messages

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// MsgFormCluster asks each roll-called worker to join a consensus cluster for a request.
type MsgFormCluster struct {
	TraceInfo
	RequestID string        `json:"request_id,omitempty"`
	Peers     []peer.ID     `json:"peers,omitempty"` // order defines the PBFT primary rotation
	Consensus ConsensusType `json:"consensus,omitempty"`
	// ConnectionInfo holds the head's known addresses of each replica.
	ConnectionInfo []peer.AddrInfo `json:"connection_info,omitempty"`
}

func (MsgFormCluster) Type() string { return TypeFormCluster }

// Valid requires a request to key the cluster by: without one there is nothing to answer. The
// consensus and the peers are the worker's to judge, and it answers what is wrong with them.
func (m MsgFormCluster) Valid() error {
	if m.RequestID == "" {
		return invalid(m.Type(), []error{errors.New("request_id is empty")})
	}
	return nil
}

func (m MsgFormCluster) MarshalJSON() ([]byte, error) {
	type alias MsgFormCluster
	return marshalWithType(alias(m), m.Type())
}

// UnmarshalJSON rejects a connection_info entry without an "ID": peer.AddrInfo would decode it
// to an empty ID, and then write "ID":"", which no node (this one included) can decode again.
func (m *MsgFormCluster) UnmarshalJSON(data []byte) error {
	type alias MsgFormCluster
	var a alias
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	for i, info := range a.ConnectionInfo {
		if info.ID == "" {
			return fmt.Errorf("connection_info[%d]: empty peer ID", i)
		}
	}
	*m = MsgFormCluster(a)
	return nil
}

// Response is a worker's answer once it joined the cluster; it keeps the trace.
func (m MsgFormCluster) Response(code Code) MsgFormClusterResponse {
	return MsgFormClusterResponse{TraceInfo: m.TraceInfo, RequestID: m.RequestID, Code: code, Consensus: m.Consensus}
}

// MsgFormClusterResponse is a worker's answer: "200" once it joined the cluster. The original
// answers nothing else; this node also answers a refusal or a failed formation with its code
// and a message (a field the original does not have and ignores), so a head need not wait out
// its deadline to learn why.
type MsgFormClusterResponse struct {
	TraceInfo
	RequestID string        `json:"request_id,omitempty"`
	Code      Code          `json:"code,omitempty"`
	Consensus ConsensusType `json:"consensus,omitempty"`
	Message   string        `json:"message,omitempty"`
}

func (MsgFormClusterResponse) Type() string { return TypeFormClusterResponse }

// Valid requires the request ID the head waits on.
func (m MsgFormClusterResponse) Valid() error {
	if m.RequestID == "" {
		return invalid(m.Type(), []error{errors.New("request_id is empty")})
	}
	return nil
}

func (m MsgFormClusterResponse) MarshalJSON() ([]byte, error) {
	type alias MsgFormClusterResponse
	return marshalWithType(alias(m), m.Type())
}

// MsgDisbandCluster tells a replica to leave the cluster of a request.
type MsgDisbandCluster struct {
	TraceInfo
	RequestID string `json:"request_id,omitempty"`
}

func (MsgDisbandCluster) Type() string { return TypeDisbandCluster }

// Valid requires the request whose cluster to leave.
func (m MsgDisbandCluster) Valid() error {
	if m.RequestID == "" {
		return invalid(m.Type(), []error{errors.New("request_id is empty")})
	}
	return nil
}

func (m MsgDisbandCluster) MarshalJSON() ([]byte, error) {
	type alias MsgDisbandCluster
	return marshalWithType(alias(m), m.Type())
}
