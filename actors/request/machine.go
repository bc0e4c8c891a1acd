package request

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// Phase is where a request's supervisor is.
type Phase int

const (
	RollCall    Phase = iota // waiting for workers to answer the roll call
	FormCluster              // consensus only: MsgFormCluster sent; waiting for every chosen worker to join
	Execute                  // MsgExecute sent; gathering results
	Done                     // Finish returned; every later input is ignored
)

// String names the phase for the inspector.
func (p Phase) String() string {
	switch p {
	case RollCall:
		return "rollcall"
	case FormCluster:
		return "form-cluster"
	case Execute:
		return "execute"
	case Done:
		return "done"
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// Machine is the supervisor of one execution request. It is not safe for concurrent use: one
// actor owns it.
type Machine struct {
	p     Params
	phase Phase
	// deadline is the one pending deadline; rollCallDeadline stays fixed so that the settle window
	// can be capped by it.
	deadline         time.Time
	rollCallDeadline time.Time

	accepted []peer.ID // roll-call answers, in arrival order
	answered map[peer.ID]bool

	chosen []peer.ID        // the workers the roll call chose: MsgFormCluster and MsgExecute go to them
	formed map[peer.ID]bool // consensus only: chosen workers that answered "200" to MsgFormCluster
	// disbandOwed is set when MsgFormCluster goes to chosen and cleared when SendDisband is
	// returned: while it is set, a cluster may exist on chosen that no one has disbanded.
	disbandOwed bool

	pending  map[peer.ID]bool // gather: chosen workers not settled yet
	failed   int              // chosen workers MsgExecute could not reach
	results  messages.ResultMap
	response *messages.MsgExecuteResponse
}

// Start begins the roll call. With invalid params the machine is born Done and the only effect is
// a Finish with code "500" that carries the validation error.
func Start(p Params, now time.Time) (*Machine, []Effect) {
	m := &Machine{p: p, answered: make(map[peer.ID]bool)}
	if err := p.Validate(); err != nil {
		return m, m.finish(messages.CodeError, err.Error())
	}
	m.rollCallDeadline = now.Add(p.RollCallTimeout)
	m.deadline = m.rollCallDeadline
	return m, []Effect{PublishRollCall{}, Deadline{At: m.deadline}}
}

// Phase is the current phase.
func (m *Machine) Phase() Phase { return m.phase }

// Deadline is the one pending deadline; zero when done.
func (m *Machine) Deadline() time.Time { return m.deadline }

// Params are the params the machine was started with.
func (m *Machine) Params() Params { return m.p }

// Answered is the workers whose roll-call answer was accepted, in arrival order.
func (m *Machine) Answered() []peer.ID { return slices.Clone(m.accepted) }

// Chosen is the workers the roll call chose, in the order they answered: MsgFormCluster (with
// consensus) and MsgExecute go to them. Empty during the roll call.
func (m *Machine) Chosen() []peer.ID { return slices.Clone(m.chosen) }

// Formed is the chosen workers that joined the cluster (answered "200" to MsgFormCluster), in
// chosen order; nil without consensus.
func (m *Machine) Formed() []peer.ID {
	var formed []peer.ID
	for _, id := range m.chosen {
		if m.formed[id] {
			formed = append(formed, id)
		}
	}
	return formed
}

// ClusterPeers is the workers MsgFormCluster went to that have not been sent a disband yet, in
// chosen order; nil before formation, without consensus and once SendDisband was returned. The
// actor disbands these itself if it stops without finishing (a panic).
func (m *Machine) ClusterPeers() []peer.ID {
	if !m.disbandOwed {
		return nil
	}
	return slices.Clone(m.chosen)
}

// Received is the number of results gathered so far.
func (m *Machine) Received() int { return len(m.results) }

// Response is the Finish response once done, nil before.
func (m *Machine) Response() *messages.MsgExecuteResponse { return m.response }

// Step feeds one input observed at now and returns the effects to carry out. Time is observed
// from every input, not only Tick: if now is at or past the pending deadline, the deadline passes
// and the input is dropped, because it came too late for the phase that just ended and before
// anything the next phase could answer. Cancel is the exception: it always finishes the request.
func (m *Machine) Step(in Input, now time.Time) []Effect {
	if m.phase == Done {
		return nil
	}
	if c, ok := in.(Cancel); ok {
		msg := "request cancelled"
		if c.Reason != "" {
			msg += ": " + c.Reason
		}
		return m.finish(messages.CodeTimeout, msg)
	}
	if !now.Before(m.deadline) {
		return m.expire(now)
	}
	switch in := in.(type) {
	case RollCallAnswer:
		return m.answer(in, now)
	case ClusterFormed:
		return m.clusterFormed(in, now)
	case SendFailed:
		return m.sendFailed(in)
	case WorkerResult:
		return m.result(in)
	}
	// An early Tick does nothing.
	return nil
}

// expire handles the pending deadline passing at now.
func (m *Machine) expire(now time.Time) []Effect {
	switch m.phase {
	case RollCall:
		if m.p.NodeCount == -1 && len(m.accepted) > 0 {
			return m.choose(m.accepted, now)
		}
		return m.finish(messages.CodeTimeout, m.rollCallTimeoutMessage())
	case FormCluster:
		// Every chosen worker formed would have started Execute, so someone is missing.
		missing := m.notFormed("")
		return m.finish(messages.CodeError, fmt.Sprintf("cluster formation timed out after %v: %s did not form (%d of %s)",
			m.p.FormTimeout, peerList(missing), len(missing), workers(len(m.chosen))))
	case Execute:
		return m.gathered(true)
	}
	return nil
}

// rollCallTimeoutMessage says how the roll call fell short. With attributes it names them: a
// worker that does not match stays silent (spec §4.4), so the head cannot tell a worker that
// does not match from one that is absent, only that no matching worker answered.
func (m *Machine) rollCallTimeoutMessage() string {
	if a := m.p.Attributes; a != nil {
		if m.p.NodeCount == -1 {
			return fmt.Sprintf("roll call timed out: no worker matching the requested attributes (%s) answered", describeAttributes(a))
		}
		return fmt.Sprintf("roll call timed out: %d of %s matching the requested attributes (%s) answered",
			len(m.accepted), workers(m.p.NodeCount), describeAttributes(a))
	}
	if m.p.NodeCount == -1 {
		return "roll call timed out: no worker answered"
	}
	return fmt.Sprintf("roll call timed out: %d of %s answered", len(m.accepted), workers(m.p.NodeCount))
}

func (m *Machine) answer(in RollCallAnswer, now time.Time) []Effect {
	if m.phase != RollCall || in.Code != messages.CodeAccepted || in.FunctionID != m.p.FunctionID ||
		in.From == "" || m.answered[in.From] {
		return nil
	}
	m.answered[in.From] = true
	m.accepted = append(m.accepted, in.From)
	if m.p.NodeCount == -1 {
		if len(m.accepted) > 1 {
			return nil
		}
		m.deadline = now.Add(m.p.SettleWindow)
		if m.rollCallDeadline.Before(m.deadline) {
			m.deadline = m.rollCallDeadline
		}
		return []Effect{Deadline{At: m.deadline}}
	}
	if len(m.accepted) < m.p.NodeCount {
		return nil
	}
	return m.choose(m.accepted[:m.p.NodeCount], now)
}

// choose ends the roll call with chosen: without consensus MsgExecute goes to them at once;
// with consensus MsgFormCluster does, and the formation deadline is armed.
func (m *Machine) choose(chosen []peer.ID, now time.Time) []Effect {
	m.chosen = slices.Clone(chosen)
	if m.p.Consensus == messages.ConsensusNone {
		return m.execute(now)
	}
	if m.p.Consensus == messages.ConsensusPBFT && len(chosen) < MinPBFTWorkers {
		// Spec §4.3: a PBFT cluster of fewer than 4 tolerates no fault; nothing was formed.
		return m.finish(messages.CodeError, fmt.Sprintf("pbft needs at least %d workers; %s answered the roll call",
			MinPBFTWorkers, workers(len(chosen))))
	}
	m.phase = FormCluster
	m.formed = make(map[peer.ID]bool, len(chosen))
	m.disbandOwed = true
	m.deadline = now.Add(m.p.FormTimeout)
	return []Effect{SendFormCluster{To: slices.Clone(m.chosen)}, Deadline{At: m.deadline}}
}

// clusterFormed counts a chosen worker's first formation answer: "200" joins it, and the last
// one to join starts Execute; any other code fails formation at once.
func (m *Machine) clusterFormed(in ClusterFormed, now time.Time) []Effect {
	if m.phase != FormCluster || !slices.Contains(m.chosen, in.From) || m.formed[in.From] {
		return nil
	}
	if in.Code != messages.CodeOK {
		reason := in.From.String() + " answered " + string(in.Code)
		if in.Code == "" {
			reason = in.From.String() + " answered without a code"
		}
		if in.Message != "" {
			reason += " (" + in.Message + ")"
		}
		return m.formationFailed(in.From, reason)
	}
	m.formed[in.From] = true
	if len(m.formed) < len(m.chosen) {
		return nil
	}
	return m.execute(now)
}

// formationFailed finishes with "500" because worker culprit will not join, for reason; the
// message also names the chosen workers that had not answered yet.
func (m *Machine) formationFailed(culprit peer.ID, reason string) []Effect {
	msg := "cluster formation failed: " + reason
	if silent := m.notFormed(culprit); len(silent) > 0 {
		msg += "; " + peerList(silent) + " did not answer"
	}
	return m.finish(messages.CodeError, msg)
}

// notFormed is the chosen workers that have not joined the cluster, except except, in chosen order.
func (m *Machine) notFormed(except peer.ID) []peer.ID {
	var out []peer.ID
	for _, id := range m.chosen {
		if !m.formed[id] && id != except {
			out = append(out, id)
		}
	}
	return out
}

// execute starts the gather: MsgExecute goes to the chosen workers and the gather deadline is
// armed.
func (m *Machine) execute(now time.Time) []Effect {
	m.phase = Execute
	m.pending = make(map[peer.ID]bool, len(m.chosen))
	for _, id := range m.chosen {
		m.pending[id] = true
	}
	m.results = make(messages.ResultMap, len(m.chosen))
	m.deadline = now.Add(m.p.ExecutionTimeout)
	return []Effect{SendExecute{To: slices.Clone(m.chosen)}, Deadline{At: m.deadline}}
}

func (m *Machine) sendFailed(in SendFailed) []Effect {
	if m.phase == FormCluster {
		// MsgFormCluster did not reach a worker that has not joined: the cluster cannot form.
		if !slices.Contains(m.chosen, in.To) || m.formed[in.To] {
			return nil
		}
		reason := "could not reach " + in.To.String()
		if in.Err != nil {
			reason += ": " + in.Err.Error()
		}
		return m.formationFailed(in.To, reason)
	}
	if m.phase != Execute || !m.pending[in.To] {
		return nil
	}
	delete(m.pending, in.To)
	m.failed++
	if len(m.pending) == 0 {
		return m.gathered(false)
	}
	return nil
}

func (m *Machine) result(in WorkerResult) []Effect {
	if m.phase != Execute || !m.pending[in.From] {
		return nil
	}
	delete(m.pending, in.From)
	m.results[in.From] = in.Result
	if m.p.Consensus == messages.ConsensusPBFT {
		if agreed := m.pbftAgreement(); agreed != nil {
			return m.finishAgreed(agreed)
		}
	}
	if len(m.pending) == 0 {
		return m.gathered(false)
	}
	return nil
}

// MinPBFTWorkers is the smallest PBFT cluster (n = 3f+1 with f = 1).
const MinPBFTWorkers = 4

// pbftQuorum is how many workers must return the same result: f+1 of the n chosen, f = ⌊(n-1)/3⌋,
// so at least one of them is honest (spec §4.3 step 6).
func (m *Machine) pbftQuorum() int { return (len(m.chosen)-1)/3 + 1 }

// pbftKey is what PBFT results must agree on (spec §4.3 step 6): the output, the exit code and
// the request timestamp the replica ordered.
type pbftKey struct {
	stdout, stderr string
	exit           int
	timestamp      time.Time
}

func keyOf(r messages.NodeResult) pbftKey {
	return pbftKey{r.Result.Stdout, r.Result.Stderr, r.Result.ExitCode, r.PBFT.RequestTimestamp.UTC()}
}

// pbftAgreement is the workers whose results agree, once f+1 do; nil before.
func (m *Machine) pbftAgreement() []peer.ID {
	groups := make(map[pbftKey][]peer.ID)
	for _, id := range m.chosen { // chosen order, so the answer does not depend on map order
		r, ok := m.results[id]
		if !ok {
			continue
		}
		k := keyOf(r)
		groups[k] = append(groups[k], id)
		if len(groups[k]) >= m.pbftQuorum() {
			return groups[k]
		}
	}
	return nil
}

// finishAgreed answers with the agreeing workers' results only, each its result and metadata
// (the signature and PBFT details are the head's to check, not the client's), and their code.
func (m *Machine) finishAgreed(agreed []peer.ID) []Effect {
	out := make(messages.ResultMap, len(agreed))
	for _, id := range agreed {
		r := m.results[id]
		out[id] = messages.NodeResult{ExecutionResult: r.ExecutionResult, Metadata: r.Metadata}
	}
	code := m.results[agreed[0]].Code
	if code == "" {
		code = messages.CodeOK
	}
	m.results = out
	var msg string
	if n := len(m.chosen); len(agreed) < n {
		msg = fmt.Sprintf("%d of %s agree (f+1 = %d)", len(agreed), workers(n), m.pbftQuorum())
	}
	return m.finish(code, msg)
}

// gathered finishes the gather phase, either because the deadline passed (timedOut) or because
// no chosen worker is left to answer.
func (m *Machine) gathered(timedOut bool) []Effect {
	n, got := len(m.chosen), len(m.results)
	if m.p.Consensus == messages.ConsensusPBFT && got > 0 {
		// No f+1 agree (the original answers "200" with no results, quirk Q4).
		return m.finish(messages.CodeError, fmt.Sprintf("no %d workers agree on a result: %d of %s returned one",
			m.pbftQuorum(), got, workers(n)))
	}
	if code, msg, failed := m.allFailed(); failed {
		if got < n {
			msg += fmt.Sprintf("; %d of %s returned no result", n-got, workers(n))
		}
		return m.finish(code, msg)
	}
	if got == n {
		return m.finish(messages.CodeOK, "")
	}
	if m.failed == n {
		return m.finish(messages.CodeError, "could not send the request to any worker")
	}
	var msg string
	if timedOut {
		if got == 0 {
			msg = "no worker returned a result within " + m.p.ExecutionTimeout.String()
		} else {
			msg = fmt.Sprintf("%d of %s returned a result within %v", got, workers(n), m.p.ExecutionTimeout)
		}
	} else {
		msg = fmt.Sprintf("%d of %s returned a result", got, workers(n))
	}
	if m.failed > 0 {
		msg += fmt.Sprintf("; %d could not be reached", m.failed)
	}
	ratio := float64(got) / float64(n)
	switch {
	case got == 0:
		return m.finish(messages.CodeNoContent, msg)
	case ratio < m.p.Threshold:
		return m.finish(messages.CodePartialContent, msg+"; threshold "+percent(m.p.Threshold))
	default:
		// Not everyone answered, so a message even with "200"; name the silent ones if any.
		if silent := n - got - m.failed; silent > 0 {
			msg += fmt.Sprintf("; %d missing", silent)
		}
		return m.finish(messages.CodeOK, msg)
	}
}

// allFailed reports whether results were received and every one is a failure, with the code
// and message the request then finishes with (see doc.go, quirk Q4).
func (m *Machine) allFailed() (messages.Code, string, bool) {
	if len(m.results) == 0 {
		return "", "", false
	}
	counts := make(map[messages.Code]int)
	for _, r := range m.results {
		if r.Code == messages.CodeOK || r.Code == "" { // no code: not known to have failed
			return "", "", false
		}
		counts[r.Code]++
	}
	codes := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d × %s", counts[c], c)
	}
	code := messages.CodeError
	if len(codes) == 1 {
		code = codes[0]
	}
	return code, "every result is a failure: " + strings.Join(parts, ", "), true
}

// finish ends the machine with the one Finish it will ever return, preceded by SendDisband when
// MsgFormCluster went out and no disband has yet: every way out after formation began disbands.
func (m *Machine) finish(code messages.Code, message string) []Effect {
	var effects []Effect
	if m.disbandOwed {
		m.disbandOwed = false
		effects = append(effects, SendDisband{To: slices.Clone(m.chosen)})
	}
	m.phase = Done
	m.deadline = time.Time{}
	m.pending = nil
	resp := messages.MsgExecuteResponse{
		RequestID: m.p.RequestID,
		Code:      code,
		Results:   m.results,
		Cluster:   messages.Cluster{Peers: slices.Clone(m.chosen)},
		Message:   message,
	}
	m.response = &resp
	return append(effects, Finish{Response: resp})
}

// peerList names peers for a message: "B, C".
func peerList(ids []peer.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ", ")
}

func workers(n int) string {
	if n == 1 {
		return "1 worker"
	}
	return strconv.Itoa(n) + " workers"
}

// percent writes a threshold as a percentage with at most two decimals: 0.6 → "60%".
func percent(t float64) string {
	return strconv.FormatFloat(math.Round(t*1e4)/1e2, 'f', -1, 64) + "%"
}
