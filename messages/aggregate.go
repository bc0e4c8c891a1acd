package messages

import (
	"cmp"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Aggregate groups results by identical output (stdout, stderr, exit code) for the REST answer
// (spec §4.7). Frequency is the group's share of all results in percent. Groups come most frequent
// first; ties, and peers inside a group, are sorted so that the same input always gives the same
// bytes (the original leaves both to map order). A peer's metadata is kept when it is not null.
// No results give nil, so "results" is left out of the response.
func Aggregate(results ResultMap) []AggregatedResult {
	if len(results) == 0 {
		return nil
	}

	groups := make(map[RuntimeOutput]*AggregatedResult)
	for id, res := range results {
		g, ok := groups[res.Result]
		if !ok {
			g = &AggregatedResult{Result: res.Result}
			groups[res.Result] = g
		}
		g.Peers = append(g.Peers, id)
		if res.Metadata != nil {
			if g.Metadata == nil {
				g.Metadata = make(NodeMetadata)
			}
			g.Metadata[id] = res.Metadata
		}
	}

	total := float64(len(results))
	out := make([]AggregatedResult, 0, len(groups))
	for _, g := range groups {
		slices.SortFunc(g.Peers, comparePeers)
		// Written as 100*n/total, as the original does, so the floats match to the last bit.
		g.Frequency = 100 * float64(len(g.Peers)) / total
		out = append(out, *g)
	}

	slices.SortFunc(out, func(a, b AggregatedResult) int {
		if c := cmp.Compare(len(b.Peers), len(a.Peers)); c != 0 {
			return c
		}
		return compareOutputs(a.Result, b.Result)
	})
	return out
}

// comparePeers orders peers by their base58 form, the order a reader of the JSON sees.
func comparePeers(a, b peer.ID) int {
	return cmp.Compare(a.String(), b.String())
}

func compareOutputs(a, b RuntimeOutput) int {
	return cmp.Or(
		cmp.Compare(a.Stdout, b.Stdout),
		cmp.Compare(a.Stderr, b.Stderr),
		cmp.Compare(a.ExitCode, b.ExitCode),
	)
}
