package pbft

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// FuzzDecode: Decode never panics, and whatever it accepts re-encodes into bytes it accepts
// again, to an equivalent message whose encoding is the same (the encoding is a fixed point
// after one round).
func FuzzDecode(f *testing.F) {
	for _, g := range wireGoldens() {
		f.Add([]byte(g.line))
	}
	for _, s := range []string{
		``, `null`, `{}`, `{"type":3,"data":null}`, `{"type":7,"data":{}}`,
		`{"type":1,"data":{"carrier":{},"id":"r","timestamp":"2024-11-05T11:00:00.5+01:00","origin":"` + wireIDJ +
			`","execute":{"parameters":[],"config":{"env_vars":[],"attributes":{"attestors":{"each":[]}},"threshold":-0}}}}`,
		`{"type":1,"data":{"id":"r","timestamp":"2024-11-05T10:00:00+00:00","origin":"` + wireIDJ + `","execute":{}}}`,
		`{"type":6,"data":{"view":1,"messages":null,"preprepares":[],"signature":""}}`,
		`{"type":5,"data":{"view":1,"prepares":[{"prepares":null,"preprepare":` + goldenPrePrepareNull + `}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m1, err := Decode(data)
		if err != nil {
			if m1 != nil {
				t.Fatalf("a message with the error %v", err)
			}
			return
		}
		b1, err := Encode(m1)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", m1, err)
		}
		m2, err := Decode(b1)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", b1, err)
		}
		b2, err := Encode(m2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", b1, b2)
		}
		if !wireEquivalent(reflect.ValueOf(m1), reflect.ValueOf(m2), false) {
			t.Fatalf("round trip changed the message:\n%#v\n%#v", m1, m2)
		}
		// Digests and signature checks work on whatever decodes.
		switch v := m1.(type) {
		case Request:
			if _, err := v.Digest(); err != nil {
				t.Fatal(err)
			}
		default:
			s := wireSignedPtr(v)
			if s == nil {
				t.Fatalf("decoded %T", v)
			}
			d1, err := SigningDigest(s)
			if err != nil {
				t.Fatal(err)
			}
			if d2, err := SigningDigest(wireSignedPtr(m2)); err != nil || d1 != d2 {
				t.Fatalf("signing digest changed over a round trip: %s, %s (%v)", d1, d2, err)
			}
			Verify(s, wirePeer(wireIDA), PeerVerifier)
		}
	})
}

var wireTimeType = reflect.TypeFor[time.Time]()

// wireEquivalent is reflect.DeepEqual with two relaxations. Both concern values that encode to
// the same bytes, so neither can change a digest or a signature:
//   - in an omitempty field, a nil and an empty slice or map are equal: a field of the execution
//     request or a carrier written as [] or {} decodes empty, is then left out, and decodes nil;
//   - times are equal when they are the same instant with the same UTC offset: "+00:00" decodes
//     into a fixed zone (or time.Local when that is UTC) and is written back as "Z", which
//     decodes as UTC.
func wireEquivalent(a, b reflect.Value, omitEmpty bool) bool {
	if a.IsValid() != b.IsValid() {
		return false
	}
	if !a.IsValid() {
		return true
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == wireTimeType {
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		_, oa := ta.Zone()
		_, ob := tb.Zone()
		return ta.Equal(tb) && oa == ob
	}
	if k := a.Kind(); (k == reflect.Slice || k == reflect.Map) && !omitEmpty && a.IsNil() != b.IsNil() {
		return false // null and [] or {} are different bytes
	}
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !wireEquivalent(a.Index(i), b.Index(i), false) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			if !wireEquivalent(it.Value(), b.MapIndex(it.Key()), false) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return wireEquivalent(a.Elem(), b.Elem(), false)
	case reflect.Struct:
		for i := range a.NumField() {
			omit := strings.Contains(a.Type().Field(i).Tag.Get("json"), ",omitempty")
			if !wireEquivalent(a.Field(i), b.Field(i), omit) {
				return false
			}
		}
		return true
	}
	return a.Equal(b)
}

// The relaxations are needed and no wider than said.
func TestWireEquivalent(t *testing.T) {
	utc := time.Date(2024, 11, 5, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		a, b any
		want bool
	}{
		{"nil and empty omitempty slice", Request{}, Request{Execute: messages.Request{Parameters: []messages.Parameter{}}}, true},
		{"nil and empty omitempty map", Request{}, Request{TraceInfo: messages.TraceInfo{Carrier: map[string]string{}}}, true},
		{"fewer parameters", Request{Execute: wireExecute()}, func() Request {
			r := Request{Execute: wireExecute()}
			r.Execute.Parameters = r.Execute.Parameters[:0]
			return r
		}(), false},
		{"null and [] prepares", ViewChange{}, ViewChange{Prepares: []PrepareInfo{}}, false},
		{"null and {} messages", NewView{}, NewView{Messages: map[peer.ID]ViewChange{}}, false},
		{"same instant and offset", Request{Timestamp: utc}, Request{Timestamp: utc.In(time.FixedZone("", 0))}, true},
		{"same instant, other offset", Request{Timestamp: utc}, Request{Timestamp: utc.In(time.FixedZone("", 3600))}, false},
		{"other instant", Request{Timestamp: utc}, Request{Timestamp: utc.Add(1)}, false},
		{"other map value", wireNewView(), func() NewView {
			m := wireNewView()
			m.Messages[wirePeer(wireIDJ)] = ViewChange{View: 1, Signature: "a6"}
			return m
		}(), false},
		{"goldens", wireNewView(), wireNewView(), true},
	} {
		if got := wireEquivalent(reflect.ValueOf(c.a), reflect.ValueOf(c.b), false); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}

	// Round trips that need them: DeepEqual fails, the bytes are the same.
	for _, line := range []string{
		`{"type":1,"data":{"id":"r","timestamp":"2024-11-05T10:00:00+00:00","origin":"` + wireIDJ + `","execute":{}}}`,
		`{"type":1,"data":{"carrier":{},"id":"r","timestamp":"2024-11-05T10:00:00Z","origin":"` + wireIDJ + `","execute":{}}}`,
		`{"type":1,"data":{"id":"r","timestamp":"2024-11-05T10:00:00Z","origin":"` + wireIDJ + `","execute":{"parameters":[]}}}`,
	} {
		m1, err := Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Encode(m1)
		m2, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := Encode(m2)
		if reflect.DeepEqual(m1, m2) || !bytes.Equal(b, b2) || !wireEquivalent(reflect.ValueOf(m1), reflect.ValueOf(m2), false) {
			t.Errorf("%s: DeepEqual %v, same bytes %v", line, reflect.DeepEqual(m1, m2), bytes.Equal(b, b2))
		}
	}
}
