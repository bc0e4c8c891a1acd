package request

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

func validParams() Params {
	return Params{
		RequestID:        "r1",
		FunctionID:       "fn1",
		NodeCount:        3,
		Threshold:        0.6,
		RollCallTimeout:  5 * time.Second,
		SettleWindow:     100 * time.Millisecond,
		ExecutionTimeout: 20 * time.Second,
	}
}

func TestParams_Validate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Params)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(*Params) {}, ""},
		{"any number of nodes", func(p *Params) { p.NodeCount = -1 }, ""},
		{"settle window unused with fixed count", func(p *Params) { p.SettleWindow = 0 }, ""},
		{"threshold one", func(p *Params) { p.Threshold = 1 }, ""},
		{"no request ID", func(p *Params) { p.RequestID = "" }, "request ID is empty"},
		{"no function ID", func(p *Params) { p.FunctionID = "" }, "function ID is empty"},
		{"zero nodes", func(p *Params) { p.NodeCount = 0 }, "node count must be ≥ 1 or -1, got 0"},
		{"minus two nodes", func(p *Params) { p.NodeCount = -2 }, "got -2"},
		{"zero threshold", func(p *Params) { p.Threshold = 0 }, "threshold must be in (0, 1], got 0"},
		{"threshold above one", func(p *Params) { p.Threshold = 1.01 }, "got 1.01"},
		{"no roll-call timeout", func(p *Params) { p.RollCallTimeout = 0 }, "roll-call timeout must be > 0"},
		{"no settle window for -1", func(p *Params) { p.NodeCount, p.SettleWindow = -1, 0 }, "settle window must be > 0"},
		{"negative settle window", func(p *Params) { p.SettleWindow = -time.Second }, "must not be negative"},
		{"no execution timeout", func(p *Params) { p.ExecutionTimeout = 0 }, "execution timeout must be > 0"},
		{"raft", func(p *Params) { p.Consensus, p.FormTimeout = messages.ConsensusRaft, time.Second }, ""},
		{"pbft", func(p *Params) { p.Consensus, p.FormTimeout = messages.ConsensusPBFT, time.Nanosecond }, ""},
		{"form timeout unused without consensus", func(p *Params) { p.FormTimeout = 0 }, ""},
		{"no form timeout for raft", func(p *Params) { p.Consensus = messages.ConsensusRaft },
			"cluster formation timeout must be > 0 with raft consensus, got 0s"},
		{"negative form timeout for pbft", func(p *Params) { p.Consensus, p.FormTimeout = messages.ConsensusPBFT, -time.Second },
			"cluster formation timeout must be > 0 with pbft consensus, got -1s"},
		{"negative form timeout without consensus", func(p *Params) { p.FormTimeout = -time.Second },
			"cluster formation timeout must not be negative, got -1s"},
		{"unknown consensus", func(p *Params) { p.Consensus, p.FormTimeout = 3, time.Second },
			"consensus must be none (0), raft (1) or pbft (2), got 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validParams()
			tt.change(&p)
			err := p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("Validate() = %v, does not wrap ErrInvalidParams", err)
			}
		})
	}
}

func TestParams_ValidateReportsEveryProblem(t *testing.T) {
	err := Params{Consensus: 9}.Validate()
	for _, want := range []string{"request ID", "function ID", "node count", "threshold", "roll-call timeout", "execution timeout",
		"consensus must be", "cluster formation timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestPhase_String(t *testing.T) {
	for p, want := range map[Phase]string{RollCall: "rollcall", FormCluster: "form-cluster", Execute: "execute", Done: "done",
		Phase(7): "phase(7)"} {
		if got := p.String(); got != want {
			t.Errorf("Phase(%d).String() = %q, want %q", int(p), got, want)
		}
	}
}

// gatherOutcome runs a request with n workers to the gather deadline, with got results and
// failed send failures, and returns the Finish response.
func gatherOutcome(t *testing.T, n, got, failed int, threshold float64) messages.MsgExecuteResponse {
	t.Helper()
	p := validParams()
	p.NodeCount, p.Threshold = n, threshold
	now := t0
	m, _ := Start(p, now)
	var effects []Effect
	for i := range n {
		effects = m.Step(RollCallAnswer{From: peer.ID(rune('A' + i)), Code: messages.CodeAccepted, FunctionID: "fn1"}, now)
	}
	if m.Phase() != Execute {
		t.Fatalf("phase %v after %d answers, effects %v", m.Phase(), n, effects)
	}
	for i := range failed {
		effects = m.Step(SendFailed{To: peer.ID(rune('A' + i))}, now)
	}
	for i := failed; i < failed+got; i++ {
		effects = m.Step(WorkerResult{From: peer.ID(rune('A' + i))}, now)
	}
	if m.Phase() != Done {
		effects = m.Step(Tick{}, m.Deadline())
	}
	if len(effects) != 1 {
		t.Fatalf("last effects %v, want one Finish", effects)
	}
	return effects[0].(Finish).Response
}

func TestGather_CodeByRatio(t *testing.T) {
	tests := []struct {
		n, got, failed int
		threshold      float64
		code           messages.Code
		message        string
	}{
		{3, 3, 0, 0.6, messages.CodeOK, ""},
		{3, 3, 0, 1, messages.CodeOK, ""},
		{5, 3, 0, 0.6, messages.CodeOK, "3 of 5 workers returned a result within 20s; 2 missing"},
		{5, 2, 0, 0.6, messages.CodePartialContent, "2 of 5 workers returned a result within 20s; threshold 60%"},
		{3, 2, 0, 2.0 / 3, messages.CodeOK, "2 of 3 workers returned a result within 20s; 1 missing"},
		{3, 1, 0, 0.34, messages.CodePartialContent, "1 of 3 workers returned a result within 20s; threshold 34%"},
		{3, 1, 0, 0.333, messages.CodeOK, "1 of 3 workers returned a result within 20s; 2 missing"},
		{4, 0, 0, 0.01, messages.CodeNoContent, "no worker returned a result within 20s"},
		{1, 0, 0, 1, messages.CodeNoContent, "no worker returned a result within 20s"},
		{1, 0, 1, 1, messages.CodeError, "could not send the request to any worker"},
		{4, 0, 4, 0.5, messages.CodeError, "could not send the request to any worker"},
		{4, 3, 1, 0.75, messages.CodeOK, "3 of 4 workers returned a result; 1 could not be reached"},
		{4, 2, 2, 0.75, messages.CodePartialContent, "2 of 4 workers returned a result; 2 could not be reached; threshold 75%"},
		{4, 0, 3, 0.75, messages.CodeNoContent, "no worker returned a result within 20s; 3 could not be reached"},
	}
	for _, tt := range tests {
		r := gatherOutcome(t, tt.n, tt.got, tt.failed, tt.threshold)
		if r.Code != tt.code || r.Message != tt.message {
			t.Errorf("n=%d got=%d failed=%d threshold=%v: code %s message %q, want %s %q",
				tt.n, tt.got, tt.failed, tt.threshold, r.Code, r.Message, tt.code, tt.message)
		}
		if len(r.Results) != tt.got || len(r.Cluster.Peers) != tt.n {
			t.Errorf("n=%d got=%d: %d results, %d peers", tt.n, tt.got, len(r.Results), len(r.Cluster.Peers))
		}
	}
}

func TestPercent(t *testing.T) {
	for in, want := range map[float64]string{0.6: "60%", 1: "100%", 0.07: "7%", 0.57: "57%", 0.333: "33.3%", 2.0 / 3: "66.67%"} {
		if got := percent(in); got != want {
			t.Errorf("percent(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestEffects_DoNotAliasState pins that the actor may keep or change what it is given.
func TestEffects_DoNotAliasState(t *testing.T) {
	p := validParams()
	p.NodeCount = 2
	m, _ := Start(p, t0)
	m.Step(RollCallAnswer{From: "A", Code: messages.CodeAccepted, FunctionID: "fn1"}, t0)
	effects := m.Step(RollCallAnswer{From: "B", Code: messages.CodeAccepted, FunctionID: "fn1"}, t0)
	send := effects[0].(SendExecute)
	send.To[0] = "Z"
	m.Answered()[1] = "Z"
	m.Chosen()[0] = "Z"
	if got := m.Chosen(); !slices.Equal(got, []peer.ID{"A", "B"}) {
		t.Fatalf("chosen %v after the caller changed its copies", got)
	}
	effects = m.Step(WorkerResult{From: "A"}, t0)
	if effects != nil {
		t.Fatalf("result from A: %v", effects)
	}
}

// TestEffects_DoNotAliasState_Consensus is the same for the cluster's effects and accessors.
func TestEffects_DoNotAliasState_Consensus(t *testing.T) {
	p := validParams()
	p.NodeCount, p.Consensus, p.FormTimeout = 2, messages.ConsensusRaft, time.Second
	m, _ := Start(p, t0)
	m.Step(RollCallAnswer{From: "A", Code: messages.CodeAccepted, FunctionID: "fn1"}, t0)
	effects := m.Step(RollCallAnswer{From: "B", Code: messages.CodeAccepted, FunctionID: "fn1"}, t0)
	effects[0].(SendFormCluster).To[0] = "Z"
	m.ClusterPeers()[1] = "Z"
	m.Step(ClusterFormed{From: "A", Code: messages.CodeOK}, t0)
	m.Formed()[0] = "Z"
	effects = m.Step(Cancel{}, t0)
	want := []peer.ID{"A", "B"}
	if len(effects) != 2 || !slices.Equal(effects[0].(SendDisband).To, want) {
		t.Fatalf("cancel: %v, want a disband of %v and Finish", effects, want)
	}
	effects[0].(SendDisband).To[0] = "Z"
	if got := m.Response().Cluster.Peers; !slices.Equal(got, want) {
		t.Fatalf("cluster %v after the caller changed its copies", got)
	}
	if got := m.Formed(); !slices.Equal(got, want[:1]) {
		t.Fatalf("formed %v after the caller changed its copies", got)
	}
}

// TestFormationFailed_RealPeerIDs pins that a formation failure names workers as operators see
// them (peer.ID.String(), base58), not as raw bytes.
func TestFormationFailed_RealPeerIDs(t *testing.T) {
	ids := make([]peer.ID, 3)
	rng := rand.NewChaCha8([32]byte{2})
	for i := range ids {
		_, pub, err := crypto.GenerateEd25519Key(rng)
		if err != nil {
			t.Fatal(err)
		}
		if ids[i], err = peer.IDFromPublicKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	p := validParams()
	p.Consensus, p.FormTimeout = messages.ConsensusRaft, time.Second
	m, _ := Start(p, t0)
	for _, id := range ids {
		m.Step(RollCallAnswer{From: id, Code: messages.CodeAccepted, FunctionID: p.FunctionID}, t0)
	}
	m.Step(ClusterFormed{From: ids[0], Code: messages.CodeOK}, t0)
	effects := m.Step(SendFailed{To: ids[1], Err: errors.New("no route")}, t0)
	if len(effects) != 2 {
		t.Fatalf("effects %v, want a disband and Finish", effects)
	}
	if d := effects[0].(SendDisband); !slices.Equal(d.To, ids) {
		t.Fatalf("disband %v, want %v", d.To, ids)
	}
	r := effects[1].(Finish).Response
	want := "cluster formation failed: could not reach " + ids[1].String() + ": no route; " + ids[2].String() + " did not answer"
	if r.Code != messages.CodeError || r.Message != want {
		t.Fatalf("finish %s %q, want 500 %q", r.Code, r.Message, want)
	}
	if m.ClusterPeers() != nil {
		t.Fatalf("cluster peers %v after the disband", m.ClusterPeers())
	}
}

// TestFinish_RealPeerIDs runs a request with libp2p peer IDs and checks the response encodes as
// the wire expects: results keyed by base58 IDs, cluster peers in answer order.
func TestFinish_RealPeerIDs(t *testing.T) {
	ids := make([]peer.ID, 3)
	rng := rand.NewChaCha8([32]byte{1})
	for i := range ids {
		_, pub, err := crypto.GenerateEd25519Key(rng)
		if err != nil {
			t.Fatal(err)
		}
		if ids[i], err = peer.IDFromPublicKey(pub); err != nil {
			t.Fatal(err)
		}
	}
	p := validParams()
	m, _ := Start(p, t0)
	for _, id := range ids {
		m.Step(RollCallAnswer{From: id, Code: messages.CodeAccepted, FunctionID: p.FunctionID}, t0)
	}
	var effects []Effect
	for i, id := range ids {
		var r messages.NodeResult
		r.Code = messages.CodeOK
		r.Result.Stdout = string(rune('a' + i))
		effects = m.Step(WorkerResult{From: id, Result: r}, t0.Add(time.Second))
	}
	resp := effects[len(effects)-1].(Finish).Response
	if resp.Code != messages.CodeOK || !slices.Equal(resp.Cluster.Peers, ids) {
		t.Fatalf("response %+v", resp)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var back messages.MsgExecuteResponse
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	for i, id := range ids {
		if got := back.Results[id].Result.Stdout; got != string(rune('a'+i)) {
			t.Errorf("result of %s: stdout %q in %s", id, got, b)
		}
	}
}

// TestRandomInputs_Invariants throws random inputs at random times and checks what must always
// hold: one Finish at most, last in its step; Done iff finished; deadlines absolute, in the future
// and mirrored by Deadline(); nothing after Done; a finished request once the deadline passes
// often enough; and with consensus, once MsgFormCluster went out, exactly one SendDisband to the
// same workers, directly before Finish (never without consensus).
func TestRandomInputs_Invariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	peers := []peer.ID{"A", "B", "C", "D", "E"}
	codes := []messages.Code{messages.CodeAccepted, messages.CodeAccepted, messages.CodeAccepted, messages.CodeError}
	disbandedAfter := map[bool]int{} // formed: disbands after the cluster formed, and before
	for run := range 2000 {
		p := validParams()
		p.NodeCount = []int{-1, 1, 2, 3, 5}[rng.IntN(5)]
		p.Threshold = []float64{0.2, 0.6, 1}[rng.IntN(3)]
		p.RollCallTimeout = time.Duration(1+rng.IntN(5)) * time.Second
		p.SettleWindow = time.Duration(1+rng.IntN(3000)) * time.Millisecond
		p.ExecutionTimeout = time.Duration(1+rng.IntN(10)) * time.Second
		p.Consensus = []messages.ConsensusType{messages.ConsensusNone, messages.ConsensusRaft, messages.ConsensusPBFT}[rng.IntN(3)]
		p.FormTimeout = time.Duration(1+rng.IntN(5)) * time.Second
		now := t0
		m, effects := Start(p, now)
		finishes, disbands := 0, 0
		var formTo []peer.ID
		check := func(step int, in Input, effects []Effect, wasDone bool) {
			if wasDone && effects != nil {
				t.Fatalf("run %d step %d: %T after Done gave %v", run, step, in, effects)
			}
			for i, e := range effects {
				switch e := e.(type) {
				case SendFormCluster:
					if p.Consensus == messages.ConsensusNone || formTo != nil || m.Phase() != FormCluster {
						t.Fatalf("run %d step %d: SendFormCluster with consensus %v, phase %v, earlier %v", run, step, p.Consensus, m.Phase(), formTo)
					}
					formTo = slices.Clone(e.To)
				case SendExecute:
					if p.Consensus != messages.ConsensusNone && !slices.Equal(m.Formed(), formTo) {
						t.Fatalf("run %d step %d: SendExecute with %v of %v formed", run, step, m.Formed(), formTo)
					}
				case SendDisband:
					disbands++
					disbandedAfter[len(m.Formed()) == len(formTo)]++
					if formTo == nil || !slices.Equal(e.To, formTo) || i != len(effects)-2 {
						t.Fatalf("run %d step %d: SendDisband %v after MsgFormCluster to %v: %v", run, step, e.To, formTo, effects)
					}
				case Finish:
					finishes++
					if i != len(effects)-1 {
						t.Fatalf("run %d step %d: Finish not last: %v", run, step, effects)
					}
					if formTo != nil && disbands != 1 {
						t.Fatalf("run %d step %d: Finish after MsgFormCluster to %v with %d disbands", run, step, formTo, disbands)
					}
					r := e.Response
					if r.Code != messages.CodeOK && r.Message == "" {
						t.Fatalf("run %d step %d: code %s without message", run, step, r.Code)
					}
					if r.Code == messages.CodeOK && r.Message == "" && len(r.Results) != len(r.Cluster.Peers) {
						t.Fatalf("run %d step %d: silent 200 with %d of %d results", run, step, len(r.Results), len(r.Cluster.Peers))
					}
					if p.NodeCount > 0 && len(r.Cluster.Peers) != 0 && len(r.Cluster.Peers) != p.NodeCount {
						t.Fatalf("run %d step %d: %d peers for node count %d", run, step, len(r.Cluster.Peers), p.NodeCount)
					}
				case Deadline:
					if !e.At.After(now) || !e.At.Equal(m.Deadline()) {
						t.Fatalf("run %d step %d: Deadline %v, now %v, machine %v", run, step, e.At, now, m.Deadline())
					}
				}
			}
			if finishes > 1 || (m.Phase() == Done) != (finishes == 1) || (m.Phase() == Done) != m.Deadline().IsZero() {
				t.Fatalf("run %d step %d: %d finishes, phase %v, deadline %v", run, step, finishes, m.Phase(), m.Deadline())
			}
			owed := formTo // until the disband, ClusterPeers is where the cluster was asked to form
			if disbands > 0 {
				owed = nil
			}
			if disbands > 1 || !slices.Equal(m.ClusterPeers(), owed) {
				t.Fatalf("run %d step %d: %d disbands, cluster peers %v, formed on %v", run, step, disbands, m.ClusterPeers(), formTo)
			}
		}
		check(-1, nil, effects, false)
		for step := range 40 {
			now = now.Add(time.Duration(rng.IntN(800)) * time.Millisecond)
			var in Input
			from := peers[rng.IntN(len(peers))]
			switch rng.IntN(12) {
			case 10, 11:
				code := messages.CodeOK
				if rng.IntN(15) == 0 {
					code = messages.CodeInvalid
				}
				in = ClusterFormed{From: from, Code: code}
			case 0, 1, 2, 3:
				fn := p.FunctionID
				if rng.IntN(10) == 0 {
					fn = "other"
				}
				in = RollCallAnswer{From: from, Code: codes[rng.IntN(len(codes))], FunctionID: fn}
			case 4, 5, 6:
				in = WorkerResult{From: from}
			case 7:
				in = SendFailed{To: from}
			case 8:
				in = Tick{}
			case 9:
				if rng.IntN(20) == 0 {
					in = Cancel{Reason: "test"}
				} else {
					in = Tick{}
				}
			}
			wasDone := m.Phase() == Done
			check(step, in, m.Step(in, now), wasDone)
		}
		// Two deadlines at most remain (roll call, then formation or gather; formation's deadline
		// finishes): ticking at each must finish.
		for i := 0; i < 3 && m.Phase() != Done; i++ {
			now = m.Deadline()
			check(100+i, Tick{}, m.Step(Tick{}, now), false)
		}
		if finishes != 1 {
			t.Fatalf("run %d: %d finishes after the deadlines passed", run, finishes)
		}
	}
	if disbandedAfter[true] == 0 || disbandedAfter[false] == 0 {
		t.Fatalf("the runs disbanded %d times after formation and %d times during it; want both", disbandedAfter[true], disbandedAfter[false])
	}
}

func TestDescribeAttributes(t *testing.T) {
	a, b := peer.ID("A"), peer.ID("B")
	cases := []struct {
		in   messages.Attributes
		want string
	}{
		{messages.Attributes{}, "an attestation"},
		{messages.Attributes{AttestationRequired: true}, "attested"},
		{messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "eu"}, {Name: "tier", Value: ""}}}, "region=eu, tier="},
		{messages.Attributes{AttestationRequired: true, Values: []messages.Parameter{{Name: "region", Value: "eu"}},
			Attestors: messages.Attestors{Each: []peer.ID{a, b}}}, "region=eu, attested by each of " + a.String() + ", " + b.String()},
		{messages.Attributes{Attestors: messages.Attestors{OneOf: []peer.ID{b}}}, "attested by one of " + b.String()},
	}
	for _, c := range cases {
		if got := describeAttributes(&c.in); got != c.want {
			t.Errorf("%+v: %q, want %q", c.in, got, c.want)
		}
	}
}
