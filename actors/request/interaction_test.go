package request

import (
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/internal/datadriven"
	"github.com/b7s-actor/b7s/messages"
)

// t0 is the fake clock's origin; scripts give times as offsets from it (at=10ms).
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// TestInteraction runs every script in testdata. Commands:
//
//	start node_count=N threshold=T rollcall_timeout=D settle=D exec_timeout=D [consensus=none|raft|pbft]
//	      [form_timeout=D] [request=ID] [function=FN] [attributes="k=v,…"] [at=D]
//	answer peer=P [code=202] [function=FN] [at=D]
//	formed peer=P [code=200] [message=TEXT] [at=D]
//	tick [at=D]
//	send-failed peer=P [err=TEXT] [at=D]
//	result peer=P [code=200] [stdout=TEXT] [ts=D] [at=D]
//	cancel [reason=TEXT] [at=D]
//	state
//
// at= defaults to the time of the previous command. Each step prints the effects returned, one
// per line, or "ok" when there are none; the harness also checks the machine's invariants.
// Peers are short names (A, B…) read as base58, so that peer.ID.String(), which the machine's
// messages use, prints them back as written.
func TestInteraction(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			h := &harness{t: t}
			datadriven.Run(t, f, h.run)
		})
	}
}

type harness struct {
	t        *testing.T
	m        *Machine
	now      time.Time
	finishes int
	formTo   []peer.ID // the SendFormCluster seen for this machine, nil if none
	disbands int
}

func (h *harness) run(t *testing.T, c *datadriven.Case) string {
	a := &args{c: c, used: map[string]bool{}}
	out, err := h.command(a)
	if err == nil {
		err = a.unused()
	}
	if err != nil {
		t.Fatalf("line %d: %s: %v", c.Line, c.Cmd, err)
	}
	return out
}

func (h *harness) command(a *args) (string, error) {
	if a.c.Cmd == "start" {
		return h.start(a)
	}
	if h.m == nil {
		return "", errors.New("no machine: start first")
	}
	if a.c.Cmd == "state" {
		return h.state(), nil
	}
	var in Input
	switch a.c.Cmd {
	case "answer":
		in = RollCallAnswer{
			From:       a.peer("peer"),
			Code:       messages.Code(a.str("code", "202")),
			FunctionID: a.str("function", h.m.Params().FunctionID),
		}
	case "formed":
		in = ClusterFormed{
			From:    a.peer("peer"),
			Code:    messages.Code(a.str("code", "200")),
			Message: a.str("message", ""),
		}
	case "tick":
		in = Tick{}
	case "send-failed":
		in = SendFailed{To: a.peer("peer"), Err: errors.New(a.str("err", "stream reset"))}
	case "result":
		var r messages.NodeResult
		r.Code = messages.Code(a.str("code", "200"))
		r.Result.Stdout = a.str("stdout", "")
		// ts: the request timestamp a PBFT replica ordered, as an offset from t0.
		r.PBFT.RequestTimestamp = t0.Add(a.dur("ts", 0))
		in = WorkerResult{From: a.peer("peer"), Result: r}
	case "cancel":
		in = Cancel{Reason: a.str("reason", "")}
	default:
		return "", fmt.Errorf("unknown command %q", a.c.Cmd)
	}
	h.now = a.at(h.now)
	if a.err != nil {
		return "", a.err
	}
	before := h.m.Phase()
	effects := h.m.Step(in, h.now)
	if before == Done && effects != nil {
		h.t.Errorf("line %d: Step after Done returned %v", a.c.Line, effects)
	}
	h.check(a.c.Line, effects)
	return h.format(effects), nil
}

func (h *harness) start(a *args) (string, error) {
	p := Params{
		RequestID:        a.str("request", "r1"),
		FunctionID:       a.str("function", "fn1"),
		NodeCount:        a.int("node_count", 1),
		Threshold:        a.float("threshold", messages.DefaultThreshold),
		RollCallTimeout:  a.dur("rollcall_timeout", 5*time.Second),
		SettleWindow:     a.dur("settle", 100*time.Millisecond),
		ExecutionTimeout: a.dur("exec_timeout", 20*time.Second),
		Attributes:       a.attributes("attributes"),
		Consensus:        a.consensus("consensus"),
		FormTimeout:      a.dur("form_timeout", 10*time.Second),
	}
	h.now = a.at(t0)
	if a.err != nil {
		return "", a.err
	}
	var effects []Effect
	h.m, effects = Start(p, h.now)
	h.finishes, h.formTo, h.disbands = 0, nil, 0
	h.check(a.c.Line, effects)
	return h.format(effects), nil
}

// check asserts what must hold after every step, whatever the script says.
func (h *harness) check(line int, effects []Effect) {
	t, m := h.t, h.m
	consensus := m.Params().Consensus != messages.ConsensusNone
	for i, e := range effects {
		switch e := e.(type) {
		case SendFormCluster:
			if !consensus || h.formTo != nil {
				t.Errorf("line %d: SendFormCluster with consensus %v, earlier one %v", line, m.Params().Consensus, h.formTo)
			}
			if len(e.To) == 0 || !slices.Equal(e.To, m.Chosen()) {
				t.Errorf("line %d: SendFormCluster to [%s], chosen [%s]", line, ids(e.To), ids(m.Chosen()))
			}
			h.formTo = slices.Clone(e.To)
		case SendDisband:
			h.disbands++
			if !consensus {
				t.Errorf("line %d: SendDisband without consensus", line)
			}
			if i+1 >= len(effects) {
				t.Errorf("line %d: SendDisband is not directly before Finish: %v", line, effects)
			} else if _, ok := effects[i+1].(Finish); !ok {
				t.Errorf("line %d: SendDisband is not directly before Finish: %v", line, effects)
			}
			if !slices.Equal(e.To, h.formTo) {
				t.Errorf("line %d: SendDisband to [%s], MsgFormCluster went to [%s]", line, ids(e.To), ids(h.formTo))
			}
		case SendExecute:
			if consensus && len(m.Formed()) != len(m.Chosen()) {
				t.Errorf("line %d: SendExecute with [%s] of [%s] formed", line, ids(m.Formed()), ids(m.Chosen()))
			}
		case Finish:
			if h.formTo != nil && (i == 0 || !isDisband(effects[i-1])) {
				t.Errorf("line %d: Finish after cluster formation began, without SendDisband: %v", line, effects)
			}
			if !slices.Equal(e.Response.Cluster.Peers, m.Chosen()) {
				t.Errorf("line %d: Finish cluster [%s], chosen [%s]", line, ids(e.Response.Cluster.Peers), ids(m.Chosen()))
			}
			h.finishes++
			if i != len(effects)-1 {
				t.Errorf("line %d: Finish is not the last effect: %v", line, effects)
			}
			r := e.Response
			if r.RequestID != m.Params().RequestID {
				t.Errorf("line %d: Finish request ID %q, want %q", line, r.RequestID, m.Params().RequestID)
			}
			if r.Code != messages.CodeOK && r.Message == "" {
				t.Errorf("line %d: Finish code %s without a message", line, r.Code)
			}
			for id := range r.Results {
				if !slices.Contains(r.Cluster.Peers, id) {
					t.Errorf("line %d: result from %s, who is not in the cluster", line, id)
				}
			}
		case Deadline:
			if !e.At.After(h.now) {
				t.Errorf("line %d: Deadline %v is not after now %v", line, e.At, h.now)
			}
			if !e.At.Equal(m.Deadline()) {
				t.Errorf("line %d: Deadline effect %v but machine deadline %v", line, e.At, m.Deadline())
			}
		}
	}
	if h.finishes > 1 {
		t.Errorf("line %d: %d Finish effects", line, h.finishes)
	}
	if h.disbands > 1 {
		t.Errorf("line %d: %d SendDisband effects", line, h.disbands)
	}
	// Until the disband, the actor can find the cluster to disband if it stops.
	if owed := h.formTo != nil && h.disbands == 0; owed != (m.ClusterPeers() != nil) ||
		(owed && !slices.Equal(m.ClusterPeers(), h.formTo)) {
		t.Errorf("line %d: ClusterPeers [%s] after MsgFormCluster to [%s] and %d disbands",
			line, ids(m.ClusterPeers()), ids(h.formTo), h.disbands)
	}
	if (m.Phase() == Done) != (h.finishes == 1) {
		t.Errorf("line %d: phase %v after %d Finish effects", line, m.Phase(), h.finishes)
	}
	if (m.Phase() == Done) != m.Deadline().IsZero() {
		t.Errorf("line %d: phase %v with deadline %v", line, m.Phase(), m.Deadline())
	}
}

func (h *harness) format(effects []Effect) string {
	var b strings.Builder
	for _, e := range effects {
		switch e := e.(type) {
		case PublishRollCall:
			b.WriteString("publish-rollcall\n")
		case Deadline:
			fmt.Fprintf(&b, "deadline %v\n", e.At.Sub(t0))
		case SendFormCluster:
			fmt.Fprintf(&b, "send-form-cluster %s\n", ids(e.To))
		case SendExecute:
			fmt.Fprintf(&b, "send-execute %s\n", ids(e.To))
		case SendDisband:
			fmt.Fprintf(&b, "send-disband %s\n", ids(e.To))
		case Finish:
			r := e.Response
			fmt.Fprintf(&b, "finish code=%s request=%s peers=[%s]\n", r.Code, r.RequestID, ids(r.Cluster.Peers))
			keys := make([]peer.ID, 0, len(r.Results))
			for id := range r.Results {
				keys = append(keys, id)
			}
			slices.SortFunc(keys, func(a, b peer.ID) int { return strings.Compare(a.String(), b.String()) })
			for _, id := range keys {
				res := r.Results[id]
				fmt.Fprintf(&b, "  result %s code=%s stdout=%q\n", id, res.Code, res.Result.Stdout)
			}
			if r.Message != "" {
				fmt.Fprintf(&b, "  message %q\n", r.Message)
			}
		default:
			fmt.Fprintf(&b, "unknown effect %T\n", e)
		}
	}
	return b.String()
}

func (h *harness) state() string {
	m := h.m
	dl := "none"
	if !m.Deadline().IsZero() {
		dl = m.Deadline().Sub(t0).String()
	}
	s := fmt.Sprintf("phase=%v deadline=%s answered=[%s] chosen=[%s] received=%d",
		m.Phase(), dl, ids(m.Answered()), ids(m.Chosen()), m.Received())
	if m.Params().Consensus != messages.ConsensusNone {
		s += fmt.Sprintf(" formed=[%s] cluster=[%s]", ids(m.Formed()), ids(m.ClusterPeers()))
	}
	return s
}

func isDisband(e Effect) bool {
	_, ok := e.(SendDisband)
	return ok
}

func ids(ps []peer.ID) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// base58 is the alphabet peer.ID.String() writes in.
const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// scriptPeer is the peer ID whose String() is name: name read as base58.
func scriptPeer(name string) (peer.ID, error) {
	n, digit := new(big.Int), new(big.Int)
	for _, r := range name {
		i := strings.IndexRune(base58, r)
		if i < 0 {
			return "", fmt.Errorf("peer %q: %q is not a base58 digit", name, r)
		}
		n.Mul(n, big.NewInt(58)).Add(n, digit.SetInt64(int64(i)))
	}
	zeros := len(name) - len(strings.TrimLeft(name, "1")) // leading 1s are zero bytes
	id := peer.ID(strings.Repeat("\x00", zeros) + string(n.Bytes()))
	if id.String() != name {
		return "", fmt.Errorf("peer %q reads back as %q", name, id.String())
	}
	return id, nil
}

// args reads a case's arguments and remembers which were used, so a typo fails the test.
type args struct {
	c    *datadriven.Case
	used map[string]bool
	err  error
}

// attributes reads `k="name=value,…"` as roll-call attributes (absent: nil; "" asks for {}).
func (a *args) attributes(k string) *messages.Attributes {
	v, ok := a.c.Args[k]
	if !ok {
		return nil
	}
	a.used[k] = true
	attrs := &messages.Attributes{}
	for pair := range strings.SplitSeq(v, ",") {
		if pair == "" {
			continue
		}
		name, value, found := strings.Cut(pair, "=")
		if !found {
			a.err = errors.Join(a.err, fmt.Errorf("%s: %q is not name=value", k, pair))
		}
		attrs.Values = append(attrs.Values, messages.Parameter{Name: name, Value: value})
	}
	return attrs
}

// peer reads a peer name (see scriptPeer); absent: the empty ID.
func (a *args) peer(k string) peer.ID {
	id, err := scriptPeer(a.str(k, ""))
	if err != nil {
		a.err = errors.Join(a.err, fmt.Errorf("%s: %w", k, err))
	}
	return id
}

// consensus reads none, raft or pbft (absent: none).
func (a *args) consensus(k string) messages.ConsensusType {
	v := a.str(k, "none")
	if v == "none" {
		return messages.ConsensusNone
	}
	c, err := messages.ParseConsensus(v)
	if err != nil || c == messages.ConsensusNone {
		a.err = errors.Join(a.err, fmt.Errorf("%s: %q is not none, raft or pbft", k, v))
	}
	return c
}

func (a *args) str(k, def string) string {
	v, ok := a.c.Args[k]
	if !ok {
		return def
	}
	a.used[k] = true
	return v
}

func (a *args) int(k string, def int) int {
	v := a.str(k, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		a.err = errors.Join(a.err, fmt.Errorf("%s: %w", k, err))
	}
	return n
}

func (a *args) float(k string, def float64) float64 {
	v := a.str(k, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		a.err = errors.Join(a.err, fmt.Errorf("%s: %w", k, err))
	}
	return f
}

func (a *args) dur(k string, def time.Duration) time.Duration {
	v := a.str(k, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		a.err = errors.Join(a.err, fmt.Errorf("%s: %w", k, err))
	}
	return d
}

// at is the command's time: at= as an offset from t0, or prev.
func (a *args) at(prev time.Time) time.Time {
	if _, ok := a.c.Args["at"]; !ok {
		return prev
	}
	return t0.Add(a.dur("at", 0))
}

func (a *args) unused() error {
	for _, k := range a.c.Keys {
		if !a.used[k] {
			return fmt.Errorf("unknown argument %q", k)
		}
	}
	return nil
}
