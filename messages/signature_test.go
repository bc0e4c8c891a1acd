package messages

import (
	"errors"
	"testing"
)

// The spec's signed MsgExecute carries the signature of the example head key (seed 0x01) over
// our SigningPayload: proof that our canonical request bytes are the original's.
func TestRequestSignature_SpecExampleVerifies(t *testing.T) {
	msg, err := Decode(golden(t, "msg_execute_pbft.json"), 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	req := msg.(MsgExecute).Request
	if err := req.VerifySignature(pubKeyOf(t, headID)); err != nil {
		t.Fatalf("spec signature does not verify: %v", err)
	}
	if err := req.VerifySignature(pubKeyOf(t, worker1)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("verify with another key: got %v, want ErrBadSignature", err)
	}

	tampered := req
	tampered.Method = "other.wasm"
	if err := tampered.VerifySignature(pubKeyOf(t, headID)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("verify tampered request: got %v, want ErrBadSignature", err)
	}
}

// Quirk Q7: the original signs a request together with any old signature. Ours must not.
func TestRequestSignature_ResigningSignedRequestVerifies(t *testing.T) {
	req := Request{FunctionID: testCID, Method: "m.wasm", Signature: "abcd"}
	if err := req.Sign(testKey(t, 1)); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if err := req.VerifySignature(pubKeyOf(t, headID)); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestRequestSignature_MissingOrNotHexIsBad(t *testing.T) {
	for _, sig := range []string{"", "zz"} {
		req := Request{FunctionID: testCID, Method: "m", Signature: sig}
		if err := req.VerifySignature(pubKeyOf(t, headID)); !errors.Is(err, ErrBadSignature) {
			t.Errorf("signature %q: got %v, want ErrBadSignature", sig, err)
		}
	}
}

func TestResultSignature_SignVerifyAndTamper(t *testing.T) {
	msg, err := Decode(golden(t, "msg_execute_response_pbft.json"), 0)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	res := msg.(MsgExecuteResponse).Results[mustPeer(t, worker1)]
	if err := res.VerifySignature(pubKeyOf(t, worker1)); err != nil {
		t.Fatalf("golden result signature does not verify: %v", err)
	}

	res.Result.Stdout = "forged"
	if err := res.VerifySignature(pubKeyOf(t, worker1)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered result: got %v, want ErrBadSignature", err)
	}
	if err := res.Sign(testKey(t, 2)); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if err := res.VerifySignature(pubKeyOf(t, worker1)); err != nil {
		t.Errorf("re-signed result: %v", err)
	}
}
