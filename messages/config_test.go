package messages

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseConsensus(t *testing.T) {
	tests := []struct {
		in      string
		want    ConsensusType
		wantErr bool
	}{
		{"", ConsensusNone, false},
		{"raft", ConsensusRaft, false},
		{"RAFT", ConsensusRaft, false},
		{"Raft", ConsensusRaft, false},
		{"pbft", ConsensusPBFT, false},
		{"PbFt", ConsensusPBFT, false},
		{"none", ConsensusNone, true},
		{" raft", ConsensusNone, true},
		{"1", ConsensusNone, true},
	}
	for _, tt := range tests {
		got, err := ParseConsensus(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseConsensus(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// Every listed algorithm parses, in any case, and the error for anything else lists them all.
func TestConsensusAlgorithms_AreWhatParseAccepts(t *testing.T) {
	for _, name := range ConsensusAlgorithms() {
		for _, in := range []string{name, strings.ToUpper(name)} {
			if c, err := ParseConsensus(in); err != nil || !c.Valid() {
				t.Errorf("ParseConsensus(%q) = %v, %v", in, c, err)
			}
		}
	}
	_, err := ParseConsensus("paxos")
	for _, name := range ConsensusAlgorithms() {
		if err == nil || !strings.Contains(err.Error(), strconv.Quote(name)) {
			t.Errorf("error %v does not list %q", err, name)
		}
	}
}

func TestConsensusType_ValidAndString(t *testing.T) {
	tests := []struct {
		c     ConsensusType
		valid bool
		str   string
	}{
		{ConsensusNone, true, "none"},
		{ConsensusRaft, true, "raft"},
		{ConsensusPBFT, true, "pbft"},
		{3, false, "unknown(3)"},
	}
	for _, tt := range tests {
		if tt.c.Valid() != tt.valid || tt.c.String() != tt.str {
			t.Errorf("%d: Valid=%v String=%q; want %v %q", uint(tt.c), tt.c.Valid(), tt.c.String(), tt.valid, tt.str)
		}
	}
}

func TestConfig_Threshold(t *testing.T) {
	tests := []struct {
		raw, want float64
	}{
		{0, 0.6},
		{-0.5, 0.6},
		{1.5, 0.6},
		{1, 1},
		{0.75, 0.75},
		{1e-7, 1e-7},
	}
	for _, tt := range tests {
		if got := (Config{RawThreshold: tt.raw}).Threshold(); got != tt.want {
			t.Errorf("Threshold(%v) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestConfig_NodeCount(t *testing.T) {
	tests := []struct{ raw, want int }{
		{0, -1}, {-3, -1}, {1, 1}, {4, 4},
	}
	for _, tt := range tests {
		if got := (Config{NumberOfNodes: tt.raw}).NodeCount(); got != tt.want {
			t.Errorf("NodeCount(%d) = %d, want %d", tt.raw, got, tt.want)
		}
	}
}

func TestConfig_RollCallTimeout(t *testing.T) {
	tests := []struct {
		raw  int
		want time.Duration
	}{
		{0, 0}, {-1, 0}, {10, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := (Config{Timeout: tt.raw}).RollCallTimeout(); got != tt.want {
			t.Errorf("RollCallTimeout(%d) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestConfig_Consensus(t *testing.T) {
	got, err := Config{ConsensusAlgorithm: "PBFT"}.Consensus()
	if err != nil || got != ConsensusPBFT {
		t.Errorf("Consensus() = %v, %v; want pbft", got, err)
	}
}
