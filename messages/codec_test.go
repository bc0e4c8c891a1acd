package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestDecode_Errors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"not json", `{`, ErrMalformed},
		{"empty input", ``, ErrMalformed},
		{"array", `[]`, ErrMalformed},
		{"string", `"MsgRollCall"`, ErrMalformed},
		{"type is a number", `{"type":5}`, ErrMalformed},
		{"trailing garbage", `{"type":"MsgDisbandCluster"} x`, ErrMalformed},
		{"no type", `{"request_id":"r"}`, ErrUnknownType},
		{"empty type", `{"type":""}`, ErrUnknownType},
		{"null", `null`, ErrUnknownType},
		{"unknown type", `{"type":"MsgWorkOrderBatch"}`, ErrUnknownType},
		{"type names are case-sensitive", `{"type":"msgrollcall"}`, ErrUnknownType},

		{"empty origin peer ID", `{"origin":"","type":"MsgRollCall"}`, ErrMalformed},
		{"bad origin peer ID", `{"origin":"not-a-peer-id","type":"MsgRollCall"}`, ErrMalformed},
		{"empty peer in list", `{"request_id":"r","peers":[""],"consensus":1,"type":"MsgFormCluster"}`, ErrMalformed},
		{"empty result key", `{"results":{"":{"code":"200"}},"cluster":{},"type":"MsgExecuteResponse"}`, ErrMalformed},
		{"empty replica", `{"results":{"` + worker1 + `":{"pbft":{"replica":""}}},"type":"MsgExecuteResponse"}`, ErrMalformed},
		{"empty attestor", `{"consensus":0,"attributes":{"attestors":{"each":[""]}},"type":"MsgRollCall"}`, ErrMalformed},
		// Decodable by go-libp2p (a CIDv1 libp2p-key over sha3-256), but its base58 form is not.
		{"peer ID with no readable base58 form", `{"origin":"bafzbmidud35dch4xnbuvnfdhldqnsx3q6ep7fwspf7vxyvbrj5cbgswet4","type":"MsgRollCall"}`, ErrMalformed},
		{"unreadable result key", `{"results":{"bafzbmidud35dch4xnbuvnfdhldqnsx3q6ep7fwspf7vxyvbrj5cbgswet4":{}},"type":"MsgExecuteResponse"}`, ErrMalformed},
		{"unreadable attestor", `{"config":{"attributes":{"attestors":{"one_of":["bafzbmidud35dch4xnbuvnfdhldqnsx3q6ep7fwspf7vxyvbrj5cbgswet4"]}}},"type":"MsgExecute"}`, ErrMalformed},
		{"unreadable cluster peer", `{"peers":["bafzbmidud35dch4xnbuvnfdhldqnsx3q6ep7fwspf7vxyvbrj5cbgswet4"],"type":"MsgFormCluster"}`, ErrMalformed},
		{"connection info without ID", `{"connection_info":[{"Addrs":[]}],"type":"MsgFormCluster"}`, ErrMalformed},
		{"connection info bad multiaddr", `{"connection_info":[{"ID":"` + worker1 + `","Addrs":["/nope"]}],"type":"MsgFormCluster"}`, ErrMalformed},

		{"health code as string", `{"code":"200","type":"MsgHealthCheck"}`, ErrMalformed},
		{"response code as number", `{"code":202,"type":"MsgRollCallResponse"}`, ErrMalformed},
		{"consensus as string", `{"consensus":"raft","type":"MsgRollCall"}`, ErrMalformed},
		{"negative consensus", `{"consensus":-1,"type":"MsgRollCall"}`, ErrMalformed},
		{"bad timestamp", `{"timestamp":"yesterday","type":"MsgExecute"}`, ErrMalformed},
		{"config is a string", `{"config":"x","type":"MsgExecute"}`, ErrMalformed},
		{"exit code as string", `{"results":{"` + worker1 + `":{"result":{"exit_code":"0"}}},"type":"MsgExecuteResponse"}`, ErrMalformed},
		{"duration as string", `{"results":{"` + worker1 + `":{"usage":{"wall_clock_time":"1s"}}},"type":"MsgExecuteResponse"}`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Decode([]byte(tt.in), 0)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode(%s) = %v, %v; want error %v", tt.in, msg, err, tt.wantErr)
			}
			if msg != nil {
				t.Errorf("Decode returned a message with an error: %#v", msg)
			}
		})
	}
}

func TestDecode_SizeLimit(t *testing.T) {
	msg := []byte(`{"request_id":"r","type":"MsgDisbandCluster"}`)
	if _, err := Decode(msg, len(msg)); err != nil {
		t.Errorf("message of exactly the limit: %v", err)
	}
	if _, err := Decode(msg, len(msg)-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("message one byte over: got %v, want ErrTooLarge", err)
	}

	// Refused before parsing: malformed input over the limit reports size, not syntax.
	big := bytes.Repeat([]byte{'{'}, DefaultMaxSize+1)
	if _, err := Decode(big, 0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized garbage with default limit: got %v, want ErrTooLarge", err)
	}
	if _, err := Decode(big[:DefaultMaxSize], 0); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage at the default limit: got %v, want ErrMalformed", err)
	}
}

func TestDecode_ReturnsTypedValues(t *testing.T) {
	tests := []struct {
		in   string
		want Message
	}{
		{`{"code":200,"type":"MsgHealthCheck"}`, MsgHealthCheck{Code: 200}},
		{`{"cid":"c","type":"MsgInstallFunction"}`, MsgInstallFunction{CID: "c"}},
		{`{"code":"202","type":"MsgInstallFunctionResponse"}`, MsgInstallFunctionResponse{Code: CodeAccepted}},
		{`{"consensus":2,"type":"MsgRollCall"}`, MsgRollCall{Consensus: ConsensusPBFT}},
		{`{"code":"500","type":"MsgRollCallResponse"}`, MsgRollCallResponse{Code: CodeError}},
		{`{"function_id":"f","topic":"t","type":"MsgExecute"}`, MsgExecute{Request: Request{FunctionID: "f"}, Topic: "t"}},
		{`{"code":"204","type":"MsgExecuteResponse"}`, MsgExecuteResponse{Code: CodeNoContent}},
		{`{"consensus":1,"type":"MsgFormCluster"}`, MsgFormCluster{Consensus: ConsensusRaft}},
		{`{"consensus":2,"type":"MsgFormClusterResponse"}`, MsgFormClusterResponse{Consensus: ConsensusPBFT}},
		{`{"request_id":"r","type":"MsgDisbandCluster"}`, MsgDisbandCluster{RequestID: "r"}},
	}
	for _, tt := range tests {
		got, err := Decode([]byte(tt.in), 0)
		if err != nil {
			t.Errorf("Decode(%s): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Decode(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

// Receivers ignore key order and unknown keys (spec §3.1), and a trailing newline is allowed (§1.3).
func TestDecode_IgnoresKeyOrderUnknownKeysAndTrailingNewline(t *testing.T) {
	in := "{\"type\":\"MsgRollCallResponse\",\"batch\":true,\"request_id\":\"r\",\"code\":\"202\"}\n"
	got, err := Decode([]byte(in), 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := MsgRollCallResponse{Code: CodeAccepted, RequestID: "r"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestDecode_AcceptsCIDPeerIDsAndWritesBase58(t *testing.T) {
	// The head's ID as a CIDv1 libp2p-key: spec §3.1 says decoding accepts that form too.
	asCID := peer.ToCid(mustPeer(t, headID)).String()
	in := `{"origin":"` + asCID + `","type":"MsgRollCall"}`
	msg, err := Decode([]byte(in), 0)
	if err != nil {
		t.Fatalf("Decode(%s): %v", in, err)
	}
	out, err := Encode(msg)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if want := `{"origin":"` + headID + `","consensus":0,"type":"MsgRollCall"}`; string(out) != want {
		t.Errorf("\n got: %s\nwant: %s", out, want)
	}
}

func TestTypeOf(t *testing.T) {
	typ, err := TypeOf([]byte(`{"code":200,"type":"MsgHealthCheck"}`))
	if err != nil || typ != TypeHealthCheck {
		t.Errorf("TypeOf = %q, %v", typ, err)
	}
	// TypeOf does not know the catalogue; Decode does.
	typ, err = TypeOf([]byte(`{"type":"MsgFuture"}`))
	if err != nil || typ != "MsgFuture" {
		t.Errorf("TypeOf(future) = %q, %v", typ, err)
	}
	if _, err := TypeOf([]byte(`{}`)); !errors.Is(err, ErrUnknownType) {
		t.Errorf("TypeOf({}) = %v, want ErrUnknownType", err)
	}
	if _, err := TypeOf([]byte(`{"type":`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("TypeOf(truncated) = %v, want ErrMalformed", err)
	}
}

func TestEncode_Nil(t *testing.T) {
	if _, err := Encode(nil); err == nil {
		t.Error("Encode(nil) succeeded")
	}
}

// Pointers encode like values: the "type" must not get lost when a caller holds a *MsgX.
func TestEncode_PointerEqualsValue(t *testing.T) {
	v := MsgDisbandCluster{RequestID: "r"}
	a, errA := Encode(v)
	b, errB := Encode(&v)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("value %s (%v) vs pointer %s (%v)", a, errA, b, errB)
	}
}

func TestEncode_EncodingRules(t *testing.T) {
	empty := ""
	ts := time.Date(2024, 11, 5, 10, 0, 0, 120000000, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{"empty message still has type", MsgDisbandCluster{}, `{"type":"MsgDisbandCluster"}`},
		{"health without code", MsgHealthCheck{}, `{"type":"MsgHealthCheck"}`},
		{"roll call consensus 0 is written", MsgRollCall{}, `{"consensus":0,"type":"MsgRollCall"}`},
		{"carrier first, type last", MsgDisbandCluster{TraceInfo: TraceInfo{Carrier: map[string]string{"traceparent": "t"}}, RequestID: "r"},
			`{"carrier":{"traceparent":"t"},"request_id":"r","type":"MsgDisbandCluster"}`},
		{"empty stdin is written, attributes always carry attestors", MsgExecute{Request: Request{Config: Config{Stdin: &empty, Attributes: &Attributes{}}}},
			`{"function_id":"","method":"","config":{"runtime":{},"stdin":"","result_aggregation":{},"attributes":{"attestors":{}}},"timestamp":"0001-01-01T00:00:00Z","type":"MsgExecute"}`},
		{"time keeps its offset and drops trailing zeros", MsgExecute{Timestamp: ts},
			`{"function_id":"","method":"","config":{"runtime":{},"result_aggregation":{}},"timestamp":"2024-11-05T10:00:00.12+01:00","type":"MsgExecute"}`},
		{"html characters are escaped as Go does", MsgInstallFunction{CID: "<&>"}, `{"cid":"\u003c\u0026\u003e","type":"MsgInstallFunction"}`},
		{"float threshold in shortest form", MsgExecute{Request: Request{Config: Config{RawThreshold: 1e-7}}},
			`{"function_id":"","method":"","config":{"runtime":{},"result_aggregation":{},"threshold":1e-7},"timestamp":"0001-01-01T00:00:00Z","type":"MsgExecute"}`},
		{"metadata any, keys sorted", MsgExecuteResponse{Results: ResultMap{mustPeer(t, worker1): {Metadata: map[string]any{"b": 1, "a": "x"}}}},
			`{"results":{"` + worker1 + `":{"code":"","result":{"stdout":"","stderr":"","exit_code":0},"usage":{},"pbft":{"view":0,"request_timestamp":"0001-01-01T00:00:00Z"},"metadata":{"a":"x","b":1}}},"cluster":{},"type":"MsgExecuteResponse"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

// A null metadata must disappear like in the original (an `any` field), not come back as null.
func TestDecode_NullMetadataIsOmitted(t *testing.T) {
	in := `{"results":{"` + worker1 + `":{"code":"200","metadata":null}},"cluster":{},"type":"MsgExecuteResponse"}`
	msg, err := Decode([]byte(in), 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	out, err := Encode(msg)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if strings.Contains(string(out), "metadata") {
		t.Errorf("null metadata re-encoded: %s", out)
	}
}

// A nil ResultMap written on its own is an object, as in the original (REST result endpoint).
func TestResultMap_NilMarshalsAsEmptyObject(t *testing.T) {
	b, err := json.Marshal(ResultMap(nil))
	if err != nil || string(b) != "{}" {
		t.Errorf("got %s, %v", b, err)
	}
}
