package messages

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Encode skips json.Marshal for messages that marshal themselves; the bytes must still be the
// ones json.Marshal writes (HTML escaping, invalid UTF-8, large and nested values), and
// EncodeLine must add its newline without copying the message.
func TestEncode_SameBytesAsJSONMarshalAndALineWithoutACopy(t *testing.T) {
	worker := mustPeer(t, headID)
	awkward := "<script>&'\"\u2028\x01\xff" + strings.Repeat("é", 100)
	big := strings.Repeat("x", 100<<10) // past the pooled buffer's bound
	stdin := awkward
	msgs := []Message{
		NewHealthCheck(),
		MsgRollCall{Origin: worker, FunctionID: awkward, RequestID: testUUID, Attributes: &Attributes{
			Values: []Parameter{{Name: "region", Value: awkward}}, Attestors: Attestors{Each: []peer.ID{worker}}}},
		MsgRollCall{FunctionID: testCID, RequestID: testUUID}.Response(CodeAccepted),
		MsgExecute{Request: Request{FunctionID: "f", Method: "m", Parameters: []Parameter{{Value: awkward}},
			Config: Config{Stdin: &stdin, Environment: []EnvVar{{Name: "A", Value: awkward}}}}, RequestID: testUUID},
		MsgExecuteResponse{RequestID: testUUID, Code: CodeOK, Results: ResultMap{worker: {ExecutionResult: ExecutionResult{
			Code: CodeOK, Result: RuntimeOutput{Stdout: awkward, Stderr: big}}}}},
		MsgInstallFunction{CID: testCID, ManifestURL: "http://h/m.json?a=<b>&c"},
		MsgFormCluster{RequestID: testUUID, Peers: []peer.ID{worker}, Consensus: ConsensusRaft},
		MsgDisbandCluster{RequestID: testUUID},
	}
	for _, m := range msgs {
		t.Run(m.Type(), func(t *testing.T) {
			want, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second time through a pooled encoder
				got, err := Encode(m)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("Encode differs from json.Marshal\n got: %.300s\nwant: %.300s", got, want)
				}
				line, err := EncodeLine(m)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(line, append(want, '\n')) {
					t.Fatalf("EncodeLine is not Encode and a newline: %.300q", line)
				}
			}
			if b, _ := Encode(m); cap(b) == len(b) {
				t.Errorf("Encode leaves no room for the newline (len = cap = %d): EncodeLine copies", len(b))
			}
		})
	}
}

// BenchmarkEncodeLine measures the wire form of the two messages every request sends through
// the outbox: a worker's result and a head's MsgExecute.
func BenchmarkEncodeLine(b *testing.B) {
	worker := mustPeer(b, headID)
	for _, c := range []struct {
		name string
		msg  Message
	}{
		{"execute_response", MsgExecuteResponse{RequestID: testUUID, Code: CodeOK, Results: ResultMap{worker: {ExecutionResult: ExecutionResult{
			Code: CodeOK, Result: RuntimeOutput{Stdout: "Hello from b7s-actor! world stdin: hi\n"}}}}}},
		{"execute", MsgExecute{Request: Request{FunctionID: testCID, Method: "tiny.wasm", Parameters: []Parameter{{Value: "world"}},
			Config: Config{NumberOfNodes: 1}}, RequestID: testUUID}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := EncodeLine(c.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
