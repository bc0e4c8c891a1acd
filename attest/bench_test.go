package attest

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// BenchmarkMatch is the cost of the attribute check a worker makes per roll call, on an
// attestation of 10 attributes and 3 attestors.
func BenchmarkMatch(b *testing.B) {
	node := seedKey(b, 0)
	keys := []crypto.PrivKey{seedKey(b, 1), seedKey(b, 2), seedKey(b, 3)}
	var pairs []string
	for _, n := range []string{"region", "tier", "cpu", "ram", "gpu", "os", "arch", "zone", "owner", "disk"} {
		pairs = append(pairs, n, n+"-value")
	}
	ix := NewIndex(signed(b, node, keys, pairs...))
	ids := []peer.ID{idOf(b, keys[0]), idOf(b, keys[1]), idOf(b, keys[2])}
	other := idOf(b, seedKey(b, 9))
	cases := []struct {
		name string
		want *messages.Attributes
	}{
		{"none", nil},
		{"one_value", &messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "region-value"}}}},
		{"five_values_each_one_of", &messages.Attributes{AttestationRequired: true,
			Values: []messages.Parameter{{Name: "region", Value: "region-value"}, {Name: "tier", Value: "tier-value"},
				{Name: "cpu", Value: "cpu-value"}, {Name: "ram", Value: "ram-value"}, {Name: "gpu", Value: "gpu-value"}},
			Attestors: messages.Attestors{Each: ids[:2], OneOf: []peer.ID{other, ids[2]}}}},
		{"value_differs", &messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "us"}}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ix.Match(c.want)
			}
		})
	}
}
