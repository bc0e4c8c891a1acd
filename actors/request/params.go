package request

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/b7s-actor/b7s/messages"
)

// Params describe one execution request as the supervisor sees it.
type Params struct {
	RequestID  string
	FunctionID string
	// NodeCount ≥ 1 asks for exactly that many workers; -1 takes every worker that answers within
	// the settle window (messages.Config.NodeCount()).
	NodeCount int
	// Threshold is the respond ratio the gather phase needs for "200" (messages.Config.Threshold()).
	Threshold float64
	// RollCallTimeout is the roll-call deadline, measured from Start.
	RollCallTimeout time.Duration
	// SettleWindow is used with NodeCount == -1 only: the roll call ends this long after the first
	// accepted answer, or at the roll-call deadline if that comes first.
	SettleWindow time.Duration
	// ExecutionTimeout is the gather deadline, measured from when MsgExecute is sent.
	ExecutionTimeout time.Duration
	// Attributes are what the roll call asks of workers (nil: nothing). Workers that do not
	// match stay silent, so a roll call that times out says what was asked.
	Attributes *messages.Attributes
	// Consensus is the cluster the chosen workers form before they execute (spec §4.6).
	// messages.ConsensusNone skips the FormCluster phase: the roll call leads straight to Execute.
	Consensus messages.ConsensusType
	// FormTimeout is the cluster-formation deadline, measured from when MsgFormCluster is sent.
	// It must be > 0 when Consensus is not none, and is unused otherwise.
	FormTimeout time.Duration
}

// ErrInvalidParams is wrapped by every error Validate returns.
var ErrInvalidParams = errors.New("invalid execution params")

// Validate reports every bound p breaks in one error that wraps ErrInvalidParams.
func (p Params) Validate() error {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	if p.RequestID == "" {
		bad("request ID is empty")
	}
	if p.FunctionID == "" {
		bad("function ID is empty")
	}
	if p.NodeCount < 1 && p.NodeCount != -1 {
		bad("node count must be ≥ 1 or -1, got %d", p.NodeCount)
	}
	if !(p.Threshold > 0 && p.Threshold <= 1) {
		bad("threshold must be in (0, 1], got %v", p.Threshold)
	}
	if p.RollCallTimeout <= 0 {
		bad("roll-call timeout must be > 0, got %v", p.RollCallTimeout)
	}
	if p.NodeCount == -1 && p.SettleWindow <= 0 {
		bad("settle window must be > 0 when node count is -1, got %v", p.SettleWindow)
	}
	if p.SettleWindow < 0 {
		bad("settle window must not be negative, got %v", p.SettleWindow)
	}
	if p.ExecutionTimeout <= 0 {
		bad("execution timeout must be > 0, got %v", p.ExecutionTimeout)
	}
	if !p.Consensus.Valid() {
		bad("consensus must be none (0), raft (1) or pbft (2), got %d", uint(p.Consensus))
	}
	if p.Consensus != messages.ConsensusNone && p.FormTimeout <= 0 {
		bad("cluster formation timeout must be > 0 with %v consensus, got %v", p.Consensus, p.FormTimeout)
	} else if p.FormTimeout < 0 {
		bad("cluster formation timeout must not be negative, got %v", p.FormTimeout)
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidParams, strings.Join(problems, "; "))
}

// describeAttributes says in words what a roll call asks of workers, e.g.
// "region=eu, attested by one of 12D3KooW…".
func describeAttributes(a *messages.Attributes) string {
	var parts []string
	for _, v := range a.Values {
		parts = append(parts, v.Name+"="+v.Value)
	}
	if len(a.Attestors.Each) > 0 {
		parts = append(parts, "attested by each of "+peerList(a.Attestors.Each))
	}
	if len(a.Attestors.OneOf) > 0 {
		parts = append(parts, "attested by one of "+peerList(a.Attestors.OneOf))
	}
	if a.AttestationRequired && len(a.Attestors.Each) == 0 && len(a.Attestors.OneOf) == 0 {
		parts = append(parts, "attested")
	}
	if len(parts) == 0 {
		return "an attestation"
	}
	return strings.Join(parts, ", ")
}
