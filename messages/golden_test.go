package messages

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Every example of spec §3.3 (with full values where the spec shortens them) must survive
// decode + encode byte for byte: signatures and digests are computed over exactly these bytes.
func TestGolden_WireMessagesRoundTripByteForByte(t *testing.T) {
	for _, name := range goldenFiles(t, "msg_*.json") {
		t.Run(name, func(t *testing.T) {
			want := golden(t, name)

			typ, err := TypeOf(want)
			if err != nil {
				t.Fatalf("TypeOf: %v", err)
			}
			msg, err := Decode(want, 0)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if msg.Type() != typ {
				t.Errorf("decoded %T has type %q, input says %q", msg, msg.Type(), typ)
			}
			if err := msg.Valid(); err != nil {
				t.Errorf("spec example is not Valid: %v", err)
			}

			got, err := Encode(msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("re-encoded bytes differ\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestGolden_RESTBodiesRoundTripByteForByte(t *testing.T) {
	tests := []struct {
		file string
		into func() any
	}{
		{"rest_execution_response.json", func() any { return new(ExecutionResponse) }},
		{"rest_result_map.json", func() any { return new(ResultMap) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			want := golden(t, tt.file)
			v := tt.into()
			if err := json.Unmarshal(want, v); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			got, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("re-encoded bytes differ\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

// Building the messages by hand, as the node will, must give the golden bytes too: round trips
// alone cannot see a field that is both dropped on decode and omitted on encode.
func TestGolden_BuiltMessagesEncodeToSpecBytes(t *testing.T) {
	tests := []struct {
		file string
		msg  Message
	}{
		{"msg_health_check.json", NewHealthCheck()},
		{"msg_install_function_response.json", MsgInstallFunction{CID: testCID}.Response(CodeAccepted)},
		{"msg_roll_call.json", MsgRollCall{Origin: mustPeer(t, headID), FunctionID: testCID, RequestID: testUUID, Consensus: ConsensusRaft}},
		{"msg_roll_call_response.json", MsgRollCall{FunctionID: testCID, RequestID: testUUID}.Response(CodeAccepted)},
		{"msg_execute_minimal.json", MsgExecute{Request: Request{FunctionID: "f", Method: "m"}}},
		{"msg_execute_response_timeout.json", MsgExecuteResponse{Code: CodeTimeout, Message: "roll call timed out - not enough nodes responded"}},
		{"msg_form_cluster_response.json", MsgFormCluster{RequestID: testUUID, Consensus: ConsensusRaft}.Response(CodeOK)},
		{"msg_disband_cluster.json", MsgDisbandCluster{RequestID: testUUID}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Encode(tt.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if want := golden(t, tt.file); !bytes.Equal(got, want) {
				t.Errorf("bytes differ\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

// Aggregating the results behind spec §9's example must reproduce it exactly, floats included.
func TestGolden_AggregatedExecutionResponse(t *testing.T) {
	hello := NodeResult{ExecutionResult: ExecutionResult{Code: CodeOK, Result: RuntimeOutput{Stdout: "Hello, world!\n"}}}
	hi := NodeResult{ExecutionResult: ExecutionResult{Code: CodeOK, Result: RuntimeOutput{Stdout: "Hi\n"}}}
	results := ResultMap{
		mustPeer(t, worker2): hello,
		mustPeer(t, worker3): hi,
		mustPeer(t, worker1): hello,
	}
	resp := ExecutionResponse{
		Cluster:   Cluster{Peers: peersOf(t, worker1, worker2, worker3)},
		Code:      CodeOK,
		RequestID: testUUID,
		Results:   Aggregate(results),
	}
	got, err := json.Marshal(resp)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if want := golden(t, "rest_execution_response.json"); !bytes.Equal(got, want) {
		t.Errorf("bytes differ\n got: %s\nwant: %s", got, want)
	}
}
