package pbft

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// Fixed Ed25519 identities, generated once. Their IDs sort A < F < J, the order Go writes map
// keys in.
const (
	wireIDA  = "12D3KooWAGMv9UE8X7Th27CuVENtBDJgaiABFCdPXpfGU2JKbyx6"
	wireKeyA = "CAESQKIXLO2gQcE0sYaZVnHoGJTrcMeR796PnPdbdWp0uEGDBqjRA1aHN7u4NzXritTjZpKn0k6yQADljZ30Zqgb+Ss="
	wireIDF  = "12D3KooWFqVcxmiUmYVUWY4NXxj6bayKV8rh1jvpVyvnpM5hJLMH"
	wireKeyF = "CAESQCWVEd6d5A1h8u5QoOcCI2x403NNKdlbTUlPDy/SbKM/WXAg31u8w1uLAeBeZvlyTF8B6DvEICkNwNyhQysoJWw="
	wireIDJ  = "12D3KooWJwrAyUtGvh4UGTuDR7oZRyPXWCmQPYSxsKTLb88qcgBM" // the head (origin)

	// wireIDRSA is an RSA peer ID: a SHA-256 of the key, which it does not embed.
	wireIDRSA = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"

	wireDigest = "b7d11edc6c7549a0809776582bbbd3d7434a0861e1c6891606248038b98088dc"
)

// The golden lines, written by hand from spec §6 (Go encoding/json: keys in struct order, map
// keys sorted, HTML characters escaped, RFC 3339 times with trailing zeros of the nanoseconds
// dropped).
const (
	goldenExecute = `{"function_id":"bafybeia24v4czavtpjv2co3j54o4a5ztduqcpyyinerjgncx7s2s22s7ea","method":"hello.wasm",` +
		`"parameters":[{"name":"-x","value":"\u003ca\u0026b\u003e"}],` +
		`"config":{"runtime":{"entry":"_start"},"result_aggregation":{},"number_of_nodes":4,"consensus_algorithm":"pbft"},` +
		`"signature":"ab12"}`

	goldenRequest = `{"type":1,"data":{"id":"b6fbbc5e-5ab8-4a0b-a3c8-1b2d5f3e9c01","timestamp":"2024-11-05T10:00:00.123456789Z",` +
		`"origin":"` + wireIDJ + `","execute":` + goldenExecute + `}}`

	goldenRequestCarrier = `{"type":1,"data":{"carrier":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"b7s=1"},` +
		`"id":"r2","timestamp":"2024-11-05T10:00:01.5Z","origin":"` + wireIDJ + `","execute":` + goldenExecute + `}}`

	// The zero Request: what Go writes for the null request of a NewView (quirk Q13).
	goldenNullRequest = `{"type":1,"data":{"id":"","timestamp":"0001-01-01T00:00:00Z","origin":"",` +
		`"execute":{"function_id":"","method":"","config":{"runtime":{},"result_aggregation":{}}}}}`

	goldenPrePrepare = `{"type":2,"data":{"view":0,"sequence_number":1,"digest":"` + wireDigest + `","request":` + goldenRequest +
		`,"signature":"84ca340d"}}`

	// Unsigned; the nested request keeps its carrier.
	goldenPrePrepareUnsigned = `{"type":2,"data":{"view":0,"sequence_number":3,"digest":"` + wireDigest + `","request":` +
		goldenRequestCarrier + `}}`

	goldenPrePrepareView1 = `{"type":2,"data":{"view":1,"sequence_number":1,"digest":"` + wireDigest + `","request":` + goldenRequest +
		`,"signature":"1e"}}`

	goldenPrePrepareNull = `{"type":2,"data":{"view":1,"sequence_number":2,"digest":"","request":` + goldenNullRequest +
		`,"signature":"9e9e"}}`

	goldenPrepare = `{"type":3,"data":{"view":0,"sequence_number":1,"digest":"` + wireDigest + `","signature":"cafe"}}`

	goldenPrepareUnsigned = `{"type":3,"data":{"view":2,"sequence_number":7,"digest":"` + wireDigest + `"}}`

	goldenPrepareA = `{"type":3,"data":{"view":0,"sequence_number":1,"digest":"` + wireDigest + `","signature":"a1"}}`
	goldenPrepareF = `{"type":3,"data":{"view":0,"sequence_number":1,"digest":"` + wireDigest + `","signature":"f1"}}`

	goldenCommit = `{"type":4,"data":{"view":0,"sequence_number":1,"digest":"` + wireDigest + `","signature":"c0ffee"}}`

	goldenCommitUnsigned = `{"type":4,"data":{"view":5,"sequence_number":9,"digest":"` + wireDigest + `"}}`

	goldenViewChangeNull = `{"type":5,"data":{"view":1,"prepares":null,"signature":"beef"}}`

	goldenViewChange = `{"type":5,"data":{"view":1,"prepares":[{"view":0,"sequence_number":1,"digest":"` + wireDigest + `",` +
		`"preprepare":` + goldenPrePrepare + `,` +
		`"prepares":{"` + wireIDA + `":` + goldenPrepareA + `,"` + wireIDF + `":` + goldenPrepareF + `}}],` +
		`"signature":"5ca1ab1e"}}`

	goldenViewChangeJ = `{"type":5,"data":{"view":1,"prepares":null,"signature":"a5"}}`

	goldenNewView = `{"type":6,"data":{"view":1,` +
		`"messages":{"` + wireIDA + `":` + goldenViewChange + `,"` + wireIDF + `":` + goldenViewChangeNull + `,"` + wireIDJ + `":` + goldenViewChangeJ + `},` +
		`"preprepares":[` + goldenPrePrepareView1 + `,` + goldenPrePrepareNull + `],` +
		`"signature":""}}`

	goldenNewViewEmpty = `{"type":6,"data":{"view":3,"messages":{},"preprepares":null,"signature":"ff"}}`
)

func wirePeer(s string) peer.ID {
	id, err := peer.Decode(s)
	if err != nil {
		panic(err)
	}
	return id
}

func wireKey(t *testing.T, b64 string, id string) crypto.PrivKey {
	t.Helper()
	raw, err := crypto.ConfigDecodeKey(b64)
	if err != nil {
		t.Fatal(err)
	}
	key, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := peer.IDFromPrivateKey(key); err != nil || got != wirePeer(id) {
		t.Fatalf("key gives peer %s (%v), want %s", got, err, id)
	}
	return key
}

func wireSHA(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// The Go values of the golden lines.

func wireExecute() messages.Request {
	return messages.Request{
		FunctionID: "bafybeia24v4czavtpjv2co3j54o4a5ztduqcpyyinerjgncx7s2s22s7ea",
		Method:     "hello.wasm",
		Parameters: []messages.Parameter{{Name: "-x", Value: "<a&b>"}},
		Config: messages.Config{
			Runtime:            messages.RuntimeConfig{Entry: "_start"},
			NumberOfNodes:      4,
			ConsensusAlgorithm: "pbft",
		},
		Signature: "ab12",
	}
}

func wireRequest() Request {
	return Request{
		ID:        "b6fbbc5e-5ab8-4a0b-a3c8-1b2d5f3e9c01",
		Timestamp: time.Date(2024, 11, 5, 10, 0, 0, 123456789, time.UTC),
		Origin:    wirePeer(wireIDJ),
		Execute:   wireExecute(),
	}
}

func wireRequestCarrier() Request {
	return Request{
		TraceInfo: messages.TraceInfo{Carrier: map[string]string{
			"tracestate":  "b7s=1", // out of order: Go sorts the keys
			"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		}},
		ID:        "r2",
		Timestamp: time.Date(2024, 11, 5, 10, 0, 1, 500000000, time.UTC),
		Origin:    wirePeer(wireIDJ),
		Execute:   wireExecute(),
	}
}

func wirePrePrepare() PrePrepare {
	return PrePrepare{View: 0, SequenceNumber: 1, Digest: wireDigest, Request: wireRequest(), Signature: "84ca340d"}
}

func wirePrePrepareUnsigned() PrePrepare {
	return PrePrepare{View: 0, SequenceNumber: 3, Digest: wireDigest, Request: wireRequestCarrier()}
}

func wirePrePrepareNull() PrePrepare {
	return PrePrepare{View: 1, SequenceNumber: 2, Digest: "", Request: Request{}, Signature: "9e9e"}
}

func wirePrepare() Prepare {
	return Prepare{View: 0, SequenceNumber: 1, Digest: wireDigest, Signature: "cafe"}
}

func wireCommit() Commit {
	return Commit{View: 0, SequenceNumber: 1, Digest: wireDigest, Signature: "c0ffee"}
}

func wireViewChangeNull() ViewChange {
	return ViewChange{View: 1, Prepares: nil, Signature: "beef"}
}

func wireViewChange() ViewChange {
	return ViewChange{
		View: 1,
		Prepares: []PrepareInfo{{
			View:           0,
			SequenceNumber: 1,
			Digest:         wireDigest,
			PrePrepare:     wirePrePrepare(),
			Prepares: map[peer.ID]Prepare{
				wirePeer(wireIDF): {View: 0, SequenceNumber: 1, Digest: wireDigest, Signature: "f1"},
				wirePeer(wireIDA): {View: 0, SequenceNumber: 1, Digest: wireDigest, Signature: "a1"},
			},
		}},
		Signature: "5ca1ab1e",
	}
}

func wireNewView() NewView {
	return NewView{
		View: 1,
		Messages: map[peer.ID]ViewChange{
			wirePeer(wireIDJ): {View: 1, Signature: "a5"},
			wirePeer(wireIDF): wireViewChangeNull(),
			wirePeer(wireIDA): wireViewChange(),
		},
		PrePrepares: []PrePrepare{
			{View: 1, SequenceNumber: 1, Digest: wireDigest, Request: wireRequest(), Signature: "1e"},
			wirePrePrepareNull(),
		},
		Signature: "",
	}
}

type wireGolden struct {
	name string
	line string
	msg  Message
}

func wireGoldens() []wireGolden {
	return []wireGolden{
		{"request", goldenRequest, wireRequest()},
		{"request with carrier", goldenRequestCarrier, wireRequestCarrier()},
		{"null request", goldenNullRequest, Request{}},
		{"preprepare", goldenPrePrepare, wirePrePrepare()},
		{"preprepare unsigned", goldenPrePrepareUnsigned, wirePrePrepareUnsigned()},
		{"preprepare null request", goldenPrePrepareNull, wirePrePrepareNull()},
		{"prepare", goldenPrepare, wirePrepare()},
		{"prepare unsigned", goldenPrepareUnsigned, Prepare{View: 2, SequenceNumber: 7, Digest: wireDigest}},
		{"commit", goldenCommit, wireCommit()},
		{"commit unsigned", goldenCommitUnsigned, Commit{View: 5, SequenceNumber: 9, Digest: wireDigest}},
		{"viewchange null prepares", goldenViewChangeNull, wireViewChangeNull()},
		{"viewchange", goldenViewChange, wireViewChange()},
		{"newview", goldenNewView, wireNewView()},
		{"newview empty", goldenNewViewEmpty, NewView{View: 3, Messages: map[peer.ID]ViewChange{}, Signature: "ff"}},
	}
}

func TestGoldenEncode(t *testing.T) {
	if !(wireIDA < wireIDF && wireIDF < wireIDJ) {
		t.Fatal("the fixed peer IDs are not in the order the golden lines assume")
	}
	for _, g := range wireGoldens() {
		t.Run(g.name, func(t *testing.T) {
			b, err := Encode(g.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != g.line {
				t.Fatalf("Encode:\n got %s\nwant %s", b, g.line)
			}
			b, err = json.Marshal(g.msg)
			if err != nil || string(b) != g.line {
				t.Fatalf("json.Marshal: %v\n got %s\nwant %s", err, b, g.line)
			}
			if !json.Valid([]byte(g.line)) {
				t.Fatal("golden line is not JSON")
			}
		})
	}
}

func TestGoldenDecode(t *testing.T) {
	for _, g := range wireGoldens() {
		t.Run(g.name, func(t *testing.T) {
			m, err := Decode([]byte(g.line))
			if err != nil {
				t.Fatal(err)
			}
			if m.Type() != g.msg.Type() {
				t.Fatalf("type %s, want %s", m.Type(), g.msg.Type())
			}
			if !reflect.DeepEqual(m, g.msg) {
				t.Fatalf("Decode:\n got %#v\nwant %#v", m, g.msg)
			}
		})
	}
}

// The type's own UnmarshalJSON reads its envelope, as when it is nested.
func TestGoldenUnmarshalDirect(t *testing.T) {
	var pp PrePrepare
	if err := json.Unmarshal([]byte(goldenPrePrepare), &pp); err != nil || !reflect.DeepEqual(pp, wirePrePrepare()) {
		t.Fatalf("PrePrepare: %v %#v", err, pp)
	}
	var vc ViewChange
	if err := json.Unmarshal([]byte(goldenViewChange), &vc); err != nil || !reflect.DeepEqual(vc, wireViewChange()) {
		t.Fatalf("ViewChange: %v %#v", err, vc)
	}
	var nv NewView
	if err := json.Unmarshal([]byte(goldenNewView), &nv); err != nil || !reflect.DeepEqual(nv, wireNewView()) {
		t.Fatalf("NewView: %v %#v", err, nv)
	}
}

// The spec's example Prepare line, signature shortened only where the spec elides it.
func TestGoldenSpecExample(t *testing.T) {
	const line = `{"type":3,"data":{"view":0,"sequence_number":1,"digest":"b7d11edc6c7549a0809776582bbbd3d7434a0861e1c6891606248038b98088dc","signature":"cafe"}}`
	b, err := Encode(Prepare{SequenceNumber: 1, Digest: "b7d11edc6c7549a0809776582bbbd3d7434a0861e1c6891606248038b98088dc", Signature: "cafe"})
	if err != nil || string(b) != line {
		t.Fatalf("%v\n got %s\nwant %s", err, b, line)
	}
}

// Nil maps are written as {} (the original always builds the map it writes, keyed by base58
// IDs); nil slices as null.
func TestWireNilCollections(t *testing.T) {
	pi := PrepareInfo{View: 0, SequenceNumber: 1, Digest: "d", PrePrepare: PrePrepare{Digest: "", Request: Request{}}}
	vc := ViewChange{View: 2, Prepares: []PrepareInfo{pi}}
	const wantVC = `{"type":5,"data":{"view":2,"prepares":[{"view":0,"sequence_number":1,"digest":"d","preprepare":` +
		`{"type":2,"data":{"view":0,"sequence_number":0,"digest":"","request":` + goldenNullRequest + `}},"prepares":{}}]}}`
	if b, err := Encode(vc); err != nil || string(b) != wantVC {
		t.Fatalf("%v\n got %s\nwant %s", err, b, wantVC)
	}
	if b, err := Encode(NewView{View: 3, Signature: "ff"}); err != nil || string(b) != goldenNewViewEmpty {
		t.Fatalf("%v\n got %s\nwant %s", err, b, goldenNewViewEmpty)
	}
	// Decoded maps are never nil, null included.
	m, err := Decode([]byte(`{"type":6,"data":{"view":3,"messages":null,"preprepares":null,"signature":"ff"}}`))
	if err != nil || m.(NewView).Messages == nil {
		t.Fatalf("%v %#v", err, m)
	}
	m, err = Decode([]byte(`{"type":5,"data":{"view":2,"prepares":[{"view":0,"sequence_number":1,"digest":"d","preprepare":` +
		`{"type":2,"data":{"view":0,"sequence_number":0,"digest":"","request":` + goldenNullRequest + `}},"prepares":null}]}}`))
	if err != nil || m.(ViewChange).Prepares[0].Prepares == nil {
		t.Fatalf("%v %#v", err, m)
	}
}

// Quirk Q13: the null request writes "origin":"", which this decoder accepts.
func TestWireNullRequest(t *testing.T) {
	m, err := Decode([]byte(goldenPrePrepareNull))
	if err != nil {
		t.Fatal(err)
	}
	r := m.(PrePrepare).Request
	if !r.IsNull() || r.Origin != "" || !r.Timestamp.IsZero() {
		t.Fatalf("null request decoded as %#v", r)
	}
	if d, err := r.Digest(); err != nil || d != "" {
		t.Fatalf("null request digest %q, %v", d, err)
	}
	// A missing or null origin reads as the null origin too.
	for _, line := range []string{
		`{"type":1,"data":{"id":"","timestamp":"0001-01-01T00:00:00Z","execute":{"function_id":"","method":"","config":{"runtime":{},"result_aggregation":{}}}}}`,
		`{"type":1,"data":{"id":"","timestamp":"0001-01-01T00:00:00Z","origin":null,"execute":{"function_id":"","method":"","config":{"runtime":{},"result_aggregation":{}}}}}`,
	} {
		m, err := Decode([]byte(line))
		if err != nil || !reflect.DeepEqual(m, Request{}) {
			t.Fatalf("%s: %v %#v", line, err, m)
		}
	}
}

func TestDigest(t *testing.T) {
	for _, c := range []struct {
		name string
		r    Request
		line string
	}{
		{"request", wireRequest(), goldenRequest},
		// The digest is of the whole envelope, carrier included.
		{"with carrier", wireRequestCarrier(), goldenRequestCarrier},
	} {
		d, err := c.r.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if want := wireSHA(c.line); d != want {
			t.Fatalf("%s: digest %s, want %s", c.name, d, want)
		}
		if len(d) != 64 || strings.ToLower(d) != d {
			t.Fatalf("%s: digest %q is not 64 lowercase hex digits", c.name, d)
		}
	}
	// The execution request's signature is part of what is digested.
	r := wireRequest()
	r.Execute.Signature = "ab13"
	if d, _ := r.Digest(); d == wireSHA(goldenRequest) {
		t.Fatal("digest ignores execute.signature")
	}
}

// wireUnsigned is a golden line with its top-level signature removed (the key too).
func wireUnsigned(t *testing.T, line, sig string) string {
	t.Helper()
	suffix := `,"signature":"` + sig + `"}}`
	if !strings.HasSuffix(line, suffix) {
		t.Fatalf("%s does not end in %s", line, suffix)
	}
	return strings.TrimSuffix(line, suffix) + "}}"
}

type wireSignCase struct {
	name     string
	msg      func() Signed // a fresh copy each time
	unsigned string        // hand-written JSON of what is signed
	tamper   func(Signed)
}

func wireSignCases(t *testing.T) []wireSignCase {
	return []wireSignCase{
		{"preprepare", func() Signed { m := wirePrePrepare(); return &m }, wireUnsigned(t, goldenPrePrepare, "84ca340d"),
			func(m Signed) { m.(*PrePrepare).Request.Execute.Method = "other.wasm" }},
		{"preprepare null request", func() Signed { m := wirePrePrepareNull(); return &m }, wireUnsigned(t, goldenPrePrepareNull, "9e9e"),
			func(m Signed) { m.(*PrePrepare).SequenceNumber++ }},
		{"prepare", func() Signed { m := wirePrepare(); return &m }, wireUnsigned(t, goldenPrepare, "cafe"),
			func(m Signed) { m.(*Prepare).Digest = "00" }},
		{"commit", func() Signed { m := wireCommit(); return &m }, wireUnsigned(t, goldenCommit, "c0ffee"),
			func(m Signed) { m.(*Commit).View++ }},
		{"viewchange null prepares", func() Signed { m := wireViewChangeNull(); return &m }, wireUnsigned(t, goldenViewChangeNull, "beef"),
			func(m Signed) { m.(*ViewChange).View = 2 }},
		{"viewchange", func() Signed { m := wireViewChange(); return &m }, wireUnsigned(t, goldenViewChange, "5ca1ab1e"),
			func(m Signed) { delete(m.(*ViewChange).Prepares[0].Prepares, wirePeer(wireIDF)) }},
		// NewView keeps "signature":"" in what it signs.
		{"newview", func() Signed { m := wireNewView(); m.Signature = "ff"; return &m }, goldenNewView,
			func(m Signed) { m.(*NewView).PrePrepares[1].Digest = wireDigest }},
	}
}

func TestSigningDigest(t *testing.T) {
	for _, c := range wireSignCases(t) {
		m := c.msg()
		d, err := SigningDigest(m)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if want := wireSHA(c.unsigned); d != want {
			t.Fatalf("%s: signing digest %s, want sha256 of\n%s", c.name, d, c.unsigned)
		}
		if m.signature() == "" {
			t.Fatalf("%s: SigningDigest blanked the message's own signature", c.name)
		}
	}
}

func TestSignVerify(t *testing.T) {
	keyA := wireKey(t, wireKeyA, wireIDA)
	keyF := wireKey(t, wireKeyF, wireIDF)
	idA, idF := wirePeer(wireIDA), wirePeer(wireIDF)
	for _, c := range wireSignCases(t) {
		t.Run(c.name, func(t *testing.T) {
			m := c.msg()
			if err := Sign(m, KeySigner(keyA)); err != nil {
				t.Fatal(err)
			}
			sig := m.signature()
			if _, err := hex.DecodeString(sig); err != nil || len(sig) != 128 || strings.ToLower(sig) != sig {
				t.Fatalf("signature %q is not 64 bytes of lowercase hex", sig)
			}
			// What is signed is the 64 ASCII bytes of the hex digest of the hand-written JSON.
			raw, _ := hex.DecodeString(sig)
			if ok, err := keyA.GetPublic().Verify([]byte(wireSHA(c.unsigned)), raw); err != nil || !ok {
				t.Fatalf("signature does not sign the digest of the hand-written JSON: %v", err)
			}
			if !Verify(m, idA, PeerVerifier) {
				t.Fatal("own signature does not verify")
			}
			// Through the wire and back.
			b, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(wireSignedPtr(back), idA, PeerVerifier) {
				t.Fatal("decoded signature does not verify")
			}
			// Signing again replaces the signature with the same one (Ed25519 is deterministic).
			if err := Sign(m, KeySigner(keyA)); err != nil || m.signature() != sig {
				t.Fatalf("re-signing gave %q (%v), want %q", m.signature(), err, sig)
			}

			if Verify(m, idF, PeerVerifier) {
				t.Fatal("verified against another peer's key")
			}
			other := c.msg()
			if err := Sign(other, KeySigner(keyF)); err != nil {
				t.Fatal(err)
			}
			if Verify(other, idA, PeerVerifier) {
				t.Fatal("another key's signature verified")
			}

			tampered := c.msg()
			tampered.setSignature(sig)
			c.tamper(tampered)
			if Verify(tampered, idA, PeerVerifier) {
				t.Fatal("tampered message verified")
			}

			for _, bad := range []string{"", "zz" + sig[2:], sig[:len(sig)-2], sig + "00", strings.ToUpper(sig[:2]) + "x" + sig[3:]} {
				m.setSignature(bad)
				if Verify(m, idA, PeerVerifier) {
					t.Fatalf("signature %q verified", bad)
				}
			}
			m.setSignature(sig)
			for _, from := range []peer.ID{wirePeer(wireIDRSA), peer.ID("garbage"), ""} {
				if Verify(m, from, PeerVerifier) {
					t.Fatalf("verified against %q, which embeds no key", from)
				}
			}
		})
	}
}

func wireSignedPtr(m Message) Signed {
	switch v := m.(type) {
	case PrePrepare:
		return &v
	case Prepare:
		return &v
	case Commit:
		return &v
	case ViewChange:
		return &v
	case NewView:
		return &v
	}
	return nil
}

func TestSignErrors(t *testing.T) {
	m := wirePrepare()
	boom := errors.New("boom")
	if err := Sign(&m, func(string) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("Sign with a failing signer: %v", err)
	}
	if m.Signature != "cafe" {
		t.Fatalf("a failed Sign changed the signature to %q", m.Signature)
	}
	// The verifier is not asked about an unsigned message.
	m.Signature = ""
	if Verify(&m, wirePeer(wireIDA), func(peer.ID, string, string) bool { return true }) {
		t.Fatal("an unsigned message verified")
	}
	// The verifier gets the signing digest and the signature as they are.
	m.Signature = "cafe"
	var gotDigest, gotSig string
	Verify(&m, wirePeer(wireIDA), func(_ peer.ID, d, s string) bool { gotDigest, gotSig = d, s; return true })
	if gotDigest != wireSHA(wireUnsigned(t, goldenPrepare, "cafe")) || gotSig != "cafe" {
		t.Fatalf("verifier got %q, %q", gotDigest, gotSig)
	}
	if PeerVerifier(wirePeer(wireIDA), wireDigest, "not hex") {
		t.Fatal("non-hex signature verified")
	}
}

func TestDecodeErrors(t *testing.T) {
	pp := func(request string) string {
		return `{"type":2,"data":{"view":0,"sequence_number":1,"digest":"d","request":` + request + `}}`
	}
	req := func(origin string) string {
		return `{"type":1,"data":{"id":"r","timestamp":"2024-11-05T10:00:00Z","origin":` + origin + `,"execute":{}}}`
	}
	for _, c := range []struct {
		name    string
		line    string
		unknown bool // errors.Is ErrUnknownType
		wrong   bool // errors.Is ErrWrongType
	}{
		{"empty", ``, false, false},
		{"truncated", goldenPrePrepare[:len(goldenPrePrepare)-3], false, false},
		{"not an object", `[1,2]`, false, false},
		{"string", `"x"`, false, false},
		{"trailing garbage", goldenPrepare + `x`, false, false},
		{"null", `null`, true, false},
		{"empty object", `{}`, true, false},
		{"type 0", `{"type":0,"data":{}}`, true, false},
		{"type 7", `{"type":7,"data":{}}`, true, false},
		{"type huge", `{"type":18446744073709551615,"data":{}}`, true, false},
		{"type overflow", `{"type":18446744073709551616,"data":{}}`, false, false},
		{"type negative", `{"type":-1,"data":{}}`, false, false},
		{"type fraction", `{"type":1.5,"data":{}}`, false, false},
		{"type string", `{"type":"3","data":{}}`, false, false},
		{"data null", `{"type":3,"data":null}`, false, false},
		{"data missing", `{"type":3}`, false, false},
		{"data array", `{"type":3,"data":[]}`, false, false},
		{"data string", `{"type":4,"data":"x"}`, false, false},
		{"view overflow", `{"type":3,"data":{"view":18446744073709551616,"sequence_number":1,"digest":"d"}}`, false, false},
		{"sequence exponent", `{"type":4,"data":{"view":0,"sequence_number":1e100,"digest":"d"}}`, false, false},
		{"view negative", `{"type":5,"data":{"view":-1,"prepares":null}}`, false, false},
		{"newview view huge", `{"type":6,"data":{"view":99999999999999999999999,"messages":{},"preprepares":null,"signature":""}}`, false, false},
		{"digest number", `{"type":3,"data":{"view":0,"sequence_number":1,"digest":1}}`, false, false},
		{"prepare where request belongs", pp(goldenPrepare), false, true},
		{"request null in preprepare", pp(`null`), false, true}, // null reads as an envelope of type 0
		{"request without data", pp(`{"type":1}`), false, false},
		{"request data null", `{"type":1,"data":null}`, false, false},
		{"commit where preprepare belongs", `{"type":5,"data":{"view":1,"prepares":[{"view":0,"sequence_number":1,"digest":"d","preprepare":` +
			goldenCommit + `,"prepares":{}}],"signature":"s"}}`, false, true},
		{"commit where prepare belongs", `{"type":5,"data":{"view":1,"prepares":[{"view":0,"sequence_number":1,"digest":"d","preprepare":` +
			goldenPrePrepare + `,"prepares":{"` + wireIDA + `":` + goldenCommit + `}}],"signature":"s"}}`, false, true},
		{"prepare where viewchange belongs", `{"type":6,"data":{"view":1,"messages":{"` + wireIDA + `":` + goldenPrepare +
			`},"preprepares":null,"signature":""}}`, false, true},
		{"viewchange where preprepare belongs", `{"type":6,"data":{"view":1,"messages":{},"preprepares":[` + goldenViewChangeNull +
			`],"signature":""}}`, false, true},
		{"prepares not an array", `{"type":5,"data":{"view":1,"prepares":{},"signature":"s"}}`, false, false},
		{"prepare info not an object", `{"type":5,"data":{"view":1,"prepares":[1],"signature":"s"}}`, false, false},
		{"invalid origin", pp(req(`"12D3KooWnotapeer"`)), false, false},
		{"origin garbage", req(`"0OIl"`), false, false},
		{"origin number", req(`5`), false, false},
		{"origin object", req(`{}`), false, false},
		{"invalid prepares key", `{"type":5,"data":{"view":1,"prepares":[{"view":0,"sequence_number":1,"digest":"d","preprepare":` +
			goldenPrePrepare + `,"prepares":{"nope":` + goldenPrepare + `}}],"signature":"s"}}`, false, false},
		{"empty messages key", `{"type":6,"data":{"view":1,"messages":{"":` + goldenViewChangeNull + `},"preprepares":null,"signature":""}}`, false, false},
		{"bad timestamp", `{"type":1,"data":{"id":"r","timestamp":"yesterday","origin":"` + wireIDJ + `","execute":{}}}`, false, false},
		{"timestamp year 10000", `{"type":1,"data":{"id":"r","timestamp":"10000-01-01T00:00:00Z","origin":"` + wireIDJ + `","execute":{}}}`, false, false},
		{"execute not an object", `{"type":1,"data":{"id":"r","timestamp":"2024-11-05T10:00:00Z","origin":"` + wireIDJ + `","execute":[]}}`, false, false},
		{"carrier not strings", `{"type":1,"data":{"carrier":{"a":1},"id":"r","timestamp":"2024-11-05T10:00:00Z","origin":"` + wireIDJ + `","execute":{}}}`, false, false},
		{"threshold overflow", `{"type":1,"data":{"id":"r","timestamp":"2024-11-05T10:00:00Z","origin":"` + wireIDJ +
			`","execute":{"config":{"threshold":1e400}}}}`, false, false},
		{"number_of_nodes overflow", `{"type":1,"data":{"id":"r","timestamp":"2024-11-05T10:00:00Z","origin":"` + wireIDJ +
			`","execute":{"config":{"number_of_nodes":9223372036854775808}}}}`, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Decode([]byte(c.line))
			if err == nil {
				t.Fatalf("decoded %#v", m)
			}
			if m != nil {
				t.Fatalf("a message with the error: %#v", m)
			}
			if c.unknown != errors.Is(err, ErrUnknownType) {
				t.Fatalf("errors.Is(%v, ErrUnknownType) = %v", err, !c.unknown)
			}
			if c.wrong != errors.Is(err, ErrWrongType) {
				t.Fatalf("errors.Is(%v, ErrWrongType) = %v", err, !c.wrong)
			}
		})
	}
}

// What the decoder tolerates, as Go's decoder does: unknown keys, keys in another order or case.
func TestDecodeLenient(t *testing.T) {
	for _, line := range []string{
		`{"data":{"signature":"cafe","digest":"` + wireDigest + `","sequence_number":1,"view":0},"type":3}`,
		`{"type":3,"data":{"view":0,"sequence_number":1,"digest":"` + wireDigest + `","signature":"cafe","extra":[1,2]},"more":true}`,
		` {"TYPE":3,"Data":{"View":0,"sequence_number":1,"digest":"` + wireDigest + `","signature":"cafe"}}` + "\n",
	} {
		m, err := Decode([]byte(line))
		if err != nil || !reflect.DeepEqual(m, wirePrepare()) {
			t.Fatalf("%s: %v %#v", line, err, m)
		}
	}
}

func TestWireTypeString(t *testing.T) {
	for typ, want := range map[MessageType]string{
		TypeRequest: "Request", TypePrePrepare: "PrePrepare", TypePrepare: "Prepare", TypeCommit: "Commit",
		TypeViewChange: "ViewChange", TypeNewView: "NewView", 0: "type(0)", 7: "type(7)",
	} {
		if typ.String() != want {
			t.Errorf("%d: %q, want %q", uint(typ), typ.String(), want)
		}
	}
	for _, g := range wireGoldens() {
		var e struct {
			Type MessageType `json:"type"`
		}
		if err := json.Unmarshal([]byte(g.line), &e); err != nil || e.Type != g.msg.Type() {
			t.Errorf("%s: envelope type %d, message type %d", g.name, e.Type, g.msg.Type())
		}
	}
}
