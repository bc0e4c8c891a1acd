package messages

import (
	"reflect"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestAggregate(t *testing.T) {
	out := func(stdout string, exit int) RuntimeOutput { return RuntimeOutput{Stdout: stdout, ExitCode: exit} }
	res := func(o RuntimeOutput, meta any) NodeResult {
		return NodeResult{ExecutionResult: ExecutionResult{Code: CodeOK, Result: o}, Metadata: meta}
	}
	w1, w2, w3, w4 := mustPeer(t, worker1), mustPeer(t, worker2), mustPeer(t, worker3), mustPeer(t, ident1)

	tests := []struct {
		name string
		in   ResultMap
		want []AggregatedResult
	}{
		{"nil input", nil, nil},
		{"empty input", ResultMap{}, nil},
		{"one result", ResultMap{w1: res(out("a", 0), nil)},
			[]AggregatedResult{{Result: out("a", 0), Peers: []peer.ID{w1}, Frequency: 100}}},
		{"majority first, peers sorted by base58", ResultMap{w3: res(out("a", 0), nil), w2: res(out("b", 0), nil), w1: res(out("a", 0), nil)},
			[]AggregatedResult{
				{Result: out("a", 0), Peers: []peer.ID{w1, w3}, Frequency: 66.66666666666667},
				{Result: out("b", 0), Peers: []peer.ID{w2}, Frequency: 33.333333333333336},
			}},
		{"exit code and stderr split groups", ResultMap{
			w1: res(out("a", 0), nil),
			w2: res(out("a", 1), nil),
			w3: res(RuntimeOutput{Stdout: "a", Stderr: "warn"}, nil),
			w4: res(out("a", 0), nil),
		}, []AggregatedResult{
			{Result: out("a", 0), Peers: []peer.ID{w4, w1}, Frequency: 50},
			// Ties are ordered by output: stdout, then stderr, then exit code.
			{Result: out("a", 1), Peers: []peer.ID{w2}, Frequency: 25},
			{Result: RuntimeOutput{Stdout: "a", Stderr: "warn"}, Peers: []peer.ID{w3}, Frequency: 25},
		}},
		{"code, usage and signature do not split groups", ResultMap{
			w1: {ExecutionResult: ExecutionResult{Code: CodeOK, Result: out("a", 0), Usage: Usage{WallClockTime: 5}}, Signature: "aa"},
			w2: {ExecutionResult: ExecutionResult{Code: CodeError, Result: out("a", 0)}},
		}, []AggregatedResult{{Result: out("a", 0), Peers: []peer.ID{w1, w2}, Frequency: 100}}},
		{"metadata kept per peer, null left out", ResultMap{w1: res(out("a", 0), "m1"), w2: res(out("a", 0), nil), w3: res(out("b", 0), nil)},
			[]AggregatedResult{
				{Result: out("a", 0), Peers: []peer.ID{w1, w2}, Metadata: NodeMetadata{w1: "m1"}, Frequency: 66.66666666666667},
				{Result: out("b", 0), Peers: []peer.ID{w3}, Frequency: 33.333333333333336},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Map iteration order varies between runs; the output must not.
			for range 20 {
				got := Aggregate(tt.in)
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Aggregate =\n%#v\nwant\n%#v", got, tt.want)
				}
			}
		})
	}
}
