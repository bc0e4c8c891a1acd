package messages

import (
	"fmt"
	"strconv"
	"strings"
)

// ConsensusType is the consensus a request runs under; a JSON number on the wire (spec §3.1).
type ConsensusType uint

// Consensus values of spec §3.1.
const (
	ConsensusNone ConsensusType = 0
	ConsensusRaft ConsensusType = 1
	ConsensusPBFT ConsensusType = 2
)

// ConsensusAlgorithms are the values config.consensus_algorithm accepts, matched in any case:
// "" (none), "raft" and "pbft". api/openapi.yaml lists the same (a test checks).
func ConsensusAlgorithms() []string { return []string{"", "raft", "pbft"} }

// ParseConsensus reads the string form used in config.consensus_algorithm: "raft" or "pbft" in
// any case, and "" for none. Anything else is an error that lists the accepted values (the
// original accepts nothing else either).
func ParseConsensus(s string) (ConsensusType, error) {
	switch strings.ToLower(s) {
	case "":
		return ConsensusNone, nil
	case "raft":
		return ConsensusRaft, nil
	case "pbft":
		return ConsensusPBFT, nil
	default:
		quoted := make([]string, 0, 3)
		for _, a := range ConsensusAlgorithms() {
			quoted = append(quoted, strconv.Quote(a))
		}
		return ConsensusNone, fmt.Errorf("unknown consensus algorithm %q: want one of %s (any case)", s, strings.Join(quoted, ", "))
	}
}

// Valid reports whether c is one of the three known values.
func (c ConsensusType) Valid() bool {
	return c <= ConsensusPBFT
}

// String is for logs and metrics labels; it is not the config form (none is "" there).
func (c ConsensusType) String() string {
	switch c {
	case ConsensusNone:
		return "none"
	case ConsensusRaft:
		return "raft"
	case ConsensusPBFT:
		return "pbft"
	default:
		return fmt.Sprintf("unknown(%d)", uint(c))
	}
}
