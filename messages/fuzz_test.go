package messages

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecode checks that Decode never panics, and that whatever it accepts has a stable wire
// form: the first decode may normalise (empty lists and maps vanish, peer IDs become base58,
// metadata numbers become floats), but after that encode and decode are exact inverses.
func FuzzDecode(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"results":{},"peers":[],"type":"MsgExecuteResponse"}`))
	f.Add([]byte(`{"metadata":null,"type":"MsgRollCall","type":"MsgExecute"}`))
	f.Add([]byte(`{"origin":"bafzaajaiaeqqe","type":"MsgRollCall"}`))
	f.Add([]byte(`{"timestamp":"2024-11-05T10:00:00.1234567891+05:30","type":"MsgExecute"}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := Decode(data, 0)
		if err != nil {
			return
		}
		_ = first.Valid() // must not panic either

		wire1, err := Encode(first)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", first, err)
		}
		second, err := Decode(wire1, 0)
		if err != nil {
			t.Fatalf("own encoding does not decode: %v\n%s", err, wire1)
		}
		if second.Type() != first.Type() {
			t.Fatalf("type changed from %s to %s", first.Type(), second.Type())
		}

		wire2, err := Encode(second)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(wire1, wire2) {
			t.Fatalf("encoding is not stable\nfirst:  %s\nsecond: %s", wire1, wire2)
		}
		third, err := Decode(wire2, 0)
		if err != nil {
			t.Fatalf("decode stable form: %v", err)
		}
		if !reflect.DeepEqual(second, third) {
			t.Fatalf("values differ after a round trip\n%#v\n%#v", second, third)
		}
	})
}
