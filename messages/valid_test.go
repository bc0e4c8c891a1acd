package messages

import (
	"errors"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	execute := func(consensus string, nodes int) MsgExecute {
		return MsgExecute{Request: Request{FunctionID: "f", Method: "m", Config: Config{ConsensusAlgorithm: consensus, NumberOfNodes: nodes}}}
	}
	origin := mustPeer(t, headID)

	tests := []struct {
		name string
		msg  Message
		// wantErrs are substrings every one of which the error must contain; nil means valid.
		wantErrs []string
	}{
		{"health check", MsgHealthCheck{}, nil},
		{"install with cid", MsgInstallFunction{CID: testCID}, nil},
		{"install without cid", MsgInstallFunction{ManifestURL: "https://x/manifest.json"}, []string{"cid is empty"}},
		{"install response, empty", MsgInstallFunctionResponse{}, nil},

		{"roll call complete", MsgRollCall{Origin: origin, FunctionID: "f", RequestID: "r"}, nil},
		{"roll call empty", MsgRollCall{}, []string{"origin is empty", "function_id is empty", "request_id is empty"}},
		{"roll call response", MsgRollCallResponse{Code: CodeAccepted, RequestID: "r"}, nil},
		{"roll call response without request", MsgRollCallResponse{Code: CodeAccepted}, []string{"request_id is empty"}},

		{"execute minimal", execute("", 0), nil},
		{"execute raft, mixed case", execute("RaFt", 0), nil},
		{"execute pbft, 4 nodes", execute("pbft", 4), nil},
		{"execute pbft, any number of nodes", execute("PBFT", 0), nil},
		{"execute pbft, negative nodes means any", execute("pbft", -1), nil},
		{"execute pbft, 3 nodes", execute("pbft", 3), []string{"minimum 4 nodes needed for PBFT consensus"}},
		{"execute pbft, 1 node", execute("pbft", 1), []string{"minimum 4 nodes"}},
		{"execute raft, 1 node", execute("raft", 1), nil},
		{"execute unknown consensus", execute("paxos", 0), []string{`unknown consensus algorithm "paxos": want one of "", "raft", "pbft" (any case)`}},
		{"execute collects every error", MsgExecute{Request: Request{Config: Config{ConsensusAlgorithm: "none"}}},
			[]string{"function_id is empty", "method is empty", "unknown consensus algorithm"}},

		// A head's roll-call timeout answer has no request ID and must still be accepted.
		{"execute response without request id", MsgExecuteResponse{Code: CodeTimeout}, nil},

		{"form cluster raft", MsgFormCluster{RequestID: "r", Consensus: ConsensusRaft}, nil},
		{"form cluster pbft", MsgFormCluster{RequestID: "r", Consensus: ConsensusPBFT}, nil},
		// The worker answers a consensus it cannot run (actors/clusters.go), so it passes here.
		{"form cluster unknown consensus", MsgFormCluster{RequestID: "r", Consensus: 7}, nil},
		{"form cluster without request", MsgFormCluster{Consensus: ConsensusRaft}, []string{"request_id is empty"}},
		{"form cluster response", MsgFormClusterResponse{RequestID: "r", Code: CodeOK}, nil},
		{"form cluster response without request", MsgFormClusterResponse{Code: CodeOK}, []string{"request_id is empty"}},
		{"disband", MsgDisbandCluster{RequestID: "r"}, nil},
		{"disband without request", MsgDisbandCluster{}, []string{"request_id is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.msg.Valid()
			if tt.wantErrs == nil {
				if err != nil {
					t.Fatalf("Valid() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Valid() = %v, want an error matching ErrInvalid", err)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Valid() = %q, missing %q", err, want)
				}
			}
		})
	}
}

func TestValid_RESTBodies(t *testing.T) {
	tests := []struct {
		name  string
		valid interface{ Valid() error }
		ok    bool
	}{
		{"execution request", ExecutionRequest{FunctionID: "f", Method: "m"}, true},
		// Unlike the original (quirk Q16), the REST path refuses what the message path refuses.
		{"execution request, bad consensus", ExecutionRequest{FunctionID: "f", Method: "m", Config: Config{ConsensusAlgorithm: "x"}}, false},
		{"execution request, raft", ExecutionRequest{FunctionID: "f", Method: "m", Config: Config{ConsensusAlgorithm: "Raft"}}, true},
		{"execution request, pbft with 3 nodes", ExecutionRequest{FunctionID: "f", Method: "m", Config: Config{ConsensusAlgorithm: "pbft", NumberOfNodes: 3}}, false},
		{"execution request without method", ExecutionRequest{FunctionID: "f"}, false},
		{"execution request without function", ExecutionRequest{Method: "m"}, false},
		{"install request", InstallFunctionRequest{CID: testCID}, true},
		{"install request without cid", InstallFunctionRequest{URI: "https://x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.valid.Valid()
			if tt.ok != (err == nil) {
				t.Fatalf("Valid() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Valid() = %v, want ErrInvalid", err)
			}
		})
	}
}
