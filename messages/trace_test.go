package messages

import (
	"strings"
	"testing"
)

func TestWithCarrier_SetsTheCarrierOfEveryType(t *testing.T) {
	carrier := map[string]string{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	all := []Message{MsgHealthCheck{}, MsgInstallFunction{}, MsgInstallFunctionResponse{}, MsgRollCall{},
		MsgRollCallResponse{}, MsgExecute{}, MsgExecuteResponse{}, MsgFormCluster{}, MsgFormClusterResponse{}, MsgDisbandCluster{}}
	for _, m := range all {
		got := WithCarrier(m, carrier)
		traced, ok := got.(Traced)
		if !ok {
			t.Fatalf("%s: not Traced", m.Type())
		}
		if traced.TraceCarrier()["traceparent"] != carrier["traceparent"] {
			t.Errorf("%s: carrier %v, want %v", m.Type(), traced.TraceCarrier(), carrier)
		}
		if m.(Traced).TraceCarrier() != nil {
			t.Errorf("%s: the original was changed", m.Type())
		}
		data, err := Encode(got)
		if err != nil {
			t.Fatal(err)
		}
		// Spec §3.1: the carrier is the first key, as the original writes it.
		if !strings.HasPrefix(string(data), `{"carrier":{"traceparent":`) {
			t.Errorf("%s: %s, want the carrier first", m.Type(), data)
		}
		back, err := Decode(data, 0)
		if err != nil {
			t.Fatal(err)
		}
		if back.(Traced).TraceCarrier()["traceparent"] != carrier["traceparent"] {
			t.Errorf("%s: carrier lost in a round trip: %s", m.Type(), data)
		}
	}
}
