package pbft

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The randomised test: replicas on a simulated network that reorders, duplicates and (before
// the global stabilisation time, GST) loses messages, in virtual time, with up to f faulty
// replicas. After every step: no two correct replicas execute different requests at a sequence,
// none executes a request twice, and each replica's invariants hold. At the end of a run: every
// correct replica executed every request.

type faultKind int

const (
	faultSilent       faultKind = iota + 1 // receives and sends nothing
	faultEquivocating                      // as primary, pre-prepares other requests to some backups
)

func (k faultKind) String() string {
	return map[faultKind]string{faultSilent: "silent", faultEquivocating: "equivocating"}[k]
}

type fault struct {
	idx  int
	kind faultKind
}

type simParams struct {
	n        int
	seed     uint64
	requests int           // client requests; 0: 1 to 5 at random
	gst      time.Duration // loss stops here; 0 with loss 0
	loss     float64       // before GST
	dup      float64
	faults   []fault
	twins    bool // run a twin of each correct replica and scribble over the effects (aliasing)
	timeout  time.Duration
	limit    time.Duration // virtual time the run may take
}

func (p simParams) String() string {
	var fs []string
	for _, f := range p.faults {
		fs = append(fs, fmt.Sprintf("%c:%v", 'A'+f.idx, f.kind))
	}
	return fmt.Sprintf("n=%d seed=%d requests=%d gst=%v loss=%.2f dup=%.2f faults=[%s]",
		p.n, p.seed, p.requests, p.gst, p.loss, p.dup, strings.Join(fs, " "))
}

type simEvent struct {
	at   time.Time
	id   int
	to   int
	kind int // evDeliver, evTimer, evClient
	from int
	msg  Message
	gen  int
	req  Request
}

const (
	evDeliver = iota
	evTimer
	evClient
)

type simQueue []*simEvent

func (q simQueue) Len() int { return len(q) }
func (q simQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].id < q[j].id
}
func (q simQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)   { *q = append(*q, x.(*simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type sim struct {
	t     *testing.T
	p     simParams
	rng   *rand.Rand
	peers []peer.ID
	reps  []*Replica
	twins []*Replica
	kind  []faultKind // 0: correct
	q     simQueue
	ids   int
	now   time.Time
	gen   []int // timer generations: a timer event of an older one is void
	reqs  []Request
	byDig map[string]string // digest → request ID

	execAt   map[uint]string   // sequence → digest a correct replica executed there
	executed []map[string]uint // per replica: request ID → sequence
	lastExec []uint
	steps    int
	maxView  uint
}

func newSim(t *testing.T, p simParams) *sim {
	if p.timeout == 0 {
		p.timeout = time.Second
	}
	if p.limit == 0 {
		p.limit = 10 * time.Minute
	}
	s := &sim{t: t, p: p, rng: rand.New(rand.NewPCG(p.seed, p.seed^0x9e3779b97f4a7c15)), peers: testPeers(p.n),
		kind: make([]faultKind, p.n), gen: make([]int, p.n), byDig: map[string]string{},
		execAt: map[uint]string{}, now: t0}
	for _, f := range p.faults {
		s.kind[f.idx] = f.kind
	}
	if s.p.requests == 0 {
		s.p.requests = 1 + s.rng.IntN(5)
	}
	s.reps = make([]*Replica, p.n)
	s.twins = make([]*Replica, p.n)
	s.executed = make([]map[string]uint, p.n)
	s.lastExec = make([]uint, p.n)
	for i, id := range s.peers {
		s.executed[i] = map[string]uint{}
		if s.kind[i] == faultSilent {
			continue
		}
		cfg := Config{Self: id, Peers: s.peers, RequestTimeout: p.timeout, Sign: fakeSigner(id), Verify: fakeVerify}
		r, err := NewReplica(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.reps[i] = r
		if p.twins && s.kind[i] == 0 {
			s.twins[i], _ = NewReplica(cfg)
		}
	}
	// The head's requests reach every replica, each at its own time.
	for k := range s.p.requests {
		req := testRequest(fmt.Sprintf("r%d", k+1))
		req.Timestamp = t0.Add(time.Duration(k) * time.Millisecond)
		s.reqs = append(s.reqs, req)
		s.byDig[mustDigest(t, req)] = req.ID
		for i := range p.n {
			s.push(&simEvent{at: t0.Add(time.Duration(s.rng.Int64N(int64(3 * time.Second)))), to: i, kind: evClient, req: req})
		}
	}
	return s
}

func (s *sim) push(e *simEvent) {
	s.ids++
	e.id = s.ids
	heap.Push(&s.q, e)
}

func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("%v (step %d, %v): %s", s.p, s.steps, s.now.Sub(t0), fmt.Sprintf(format, args...))
}

func (s *sim) run() {
	for s.q.Len() > 0 {
		ev := heap.Pop(&s.q).(*simEvent)
		if ev.at.Sub(t0) > s.p.limit {
			return
		}
		s.now = ev.at
		r := s.reps[ev.to]
		if r == nil {
			continue
		}
		var in Input
		switch ev.kind {
		case evDeliver:
			in = Receive{From: s.peers[ev.from], Msg: ev.msg}
		case evTimer:
			if ev.gen != s.gen[ev.to] {
				continue
			}
			in = Timeout{}
		case evClient:
			in = ClientRequest{Request: ev.req}
		}
		s.steps++
		var twinIn Input
		if s.twins[ev.to] != nil {
			twinIn = deepCopy(in)
		}
		effects := r.Step(in, s.now)
		if simTrace {
			s.trace(ev.to, in, effects)
		}
		if tw := s.twins[ev.to]; tw != nil {
			got, want := describeAll(effects), describeAll(tw.Step(twinIn, s.now))
			if got != want {
				s.fail("replica %s and its twin differ:\n%s\ntwin:\n%s", string(s.peers[ev.to]), got, want)
			}
		}
		s.apply(ev.to, effects)
		if s.twins[ev.to] != nil {
			for _, e := range effects {
				scribble(reflect.ValueOf(&e).Elem())
			}
		}
		if s.kind[ev.to] == 0 {
			if err := r.checkInvariants(); err != nil {
				s.fail("replica %s: %v", string(s.peers[ev.to]), err)
			}
		}
		s.maxView = max(s.maxView, r.View())
	}
}

// simTrace prints every step of TestSimTrace's run.
var simTrace bool

func (s *sim) trace(i int, in Input, effects []Effect) {
	r := s.reps[i]
	var what string
	switch in := in.(type) {
	case Receive:
		what = "recv from " + string(in.From) + " " + describeMsg(in.Msg, s.byDig)
	case ClientRequest:
		what = "request " + in.Request.ID
	case Timeout:
		what = "timeout"
	}
	fmt.Printf("%10v %s [v%d %v exec %d]: %s\n", s.now.Sub(t0).Truncate(time.Millisecond), string(s.peers[i]), r.View(), r.Active(), r.LastExecuted(), what)
	for _, e := range effects {
		if b, ok := e.(Broadcast); ok {
			fmt.Printf("      -> %s\n", describeMsg(b.Msg, s.byDig))
			continue
		}
		fmt.Printf("      -> %s\n", describeEffect(e))
	}
}

// describeMsg is a short form of m, naming requests by ID.
func describeMsg(m Message, names map[string]string) string {
	name := func(d string) string {
		if d == "" {
			return "null"
		}
		if n, ok := names[d]; ok {
			return n
		}
		return d[:min(8, len(d))]
	}
	switch m := m.(type) {
	case PrePrepare:
		return fmt.Sprintf("PrePrepare v=%d s=%d %s", m.View, m.SequenceNumber, name(m.Digest))
	case Prepare:
		return fmt.Sprintf("Prepare v=%d s=%d %s", m.View, m.SequenceNumber, name(m.Digest))
	case Commit:
		return fmt.Sprintf("Commit v=%d s=%d %s", m.View, m.SequenceNumber, name(m.Digest))
	case ViewChange:
		var cs []string
		for _, p := range m.Prepares {
			cs = append(cs, fmt.Sprintf("%d:%s@%d", p.SequenceNumber, name(p.Digest), p.View))
		}
		return fmt.Sprintf("ViewChange v=%d [%s]", m.View, strings.Join(cs, " "))
	case NewView:
		var ids, pps []string
		for id := range m.Messages {
			ids = append(ids, string(id))
		}
		slices.Sort(ids)
		for _, p := range m.PrePrepares {
			pps = append(pps, fmt.Sprintf("%d:%s", p.SequenceNumber, name(p.Digest)))
		}
		return fmt.Sprintf("NewView v=%d vcs=[%s] pps=[%s]", m.View, strings.Join(ids, " "), strings.Join(pps, " "))
	case nil:
		return "nil"
	}
	return m.Type().String()
}

// TestSimTrace replays one run step by step: PBFT_SIM="n=4 seed=12" go test -run TestSimTrace.
func TestSimTrace(t *testing.T) {
	spec := os.Getenv("PBFT_SIM")
	if spec == "" {
		t.Skip("PBFT_SIM not set")
	}
	var n int
	var seed uint64
	if _, err := fmt.Sscanf(spec, "n=%d seed=%d", &n, &seed); err != nil {
		t.Fatal(err)
	}
	simTrace = true
	defer func() { simTrace = false }()
	s := newSim(t, randomParams(n, seed))
	fmt.Println(s.p)
	s.run()
	s.checkLiveness()
}

func describeAll(effects []Effect) string {
	var b strings.Builder
	for _, e := range effects {
		if br, ok := e.(Broadcast); ok {
			enc, err := Encode(br.Msg)
			fmt.Fprintf(&b, "broadcast %s %v\n", enc, err)
			continue
		}
		fmt.Fprintf(&b, "%#v\n", e)
	}
	return b.String()
}

func (s *sim) apply(i int, effects []Effect) {
	for _, e := range effects {
		switch e := e.(type) {
		case Broadcast:
			s.send(i, e.Msg)
		case Execute:
			s.execute(i, e)
		case SetTimer:
			s.gen[i]++
			at := e.At
			if at.Before(s.now) {
				s.fail("replica %s armed its timer in the past: %v", s.peers[i], at.Sub(t0))
			}
			s.push(&simEvent{at: at, to: i, kind: evTimer, gen: s.gen[i]})
		case StopTimer:
			s.gen[i]++
		case Drop:
			if s.kindOf(e.From) == 0 && s.kind[i] == 0 {
				switch e.Reason {
				case DropBadSignature, DropNotPrimary, DropBadDigest, DropFromPrimary, DropInvalidViewChange,
					DropInvalidNewView, DropNotInCluster, DropUnexpectedType, DropOutOfWindow:
					s.fail("replica %s refused %s from correct %s: %s", s.peers[i], e.Type, e.From, e.Reason)
				}
			}
		}
	}
}

// kind of a peer by ID, for Drop.From.
func (s *sim) kindOf(id peer.ID) faultKind {
	for i, p := range s.peers {
		if p == id {
			return s.kind[i]
		}
	}
	return 0
}

func (s *sim) send(from int, m Message) {
	for to := range s.p.n {
		if to == from {
			continue
		}
		msg := m
		if pp, ok := m.(PrePrepare); ok && s.kind[from] == faultEquivocating && s.rng.IntN(2) == 0 {
			msg = s.equivocate(from, pp)
		}
		copies := 1
		if s.rng.Float64() < s.p.dup {
			copies = 2
		}
		for range copies {
			if s.now.Sub(t0) < s.p.gst && s.rng.Float64() < s.p.loss {
				continue
			}
			delay := time.Millisecond + time.Duration(s.rng.Int64N(int64(50*time.Millisecond)))
			if s.rng.IntN(20) == 0 {
				delay += time.Duration(s.rng.Int64N(int64(500 * time.Millisecond)))
			}
			if s.p.twins {
				msg = deepCopy(msg) // the effect is scribbled over once sent
			}
			s.push(&simEvent{at: s.now.Add(delay), to: to, kind: evDeliver, from: from, msg: msg})
		}
	}
}

// equivocate is pp with another of the head's requests, signed by the faulty primary.
func (s *sim) equivocate(from int, pp PrePrepare) PrePrepare {
	other := s.reqs[s.rng.IntN(len(s.reqs))]
	d := mustDigest(s.t, other)
	if d == pp.Digest {
		return pp
	}
	pp.Request, pp.Digest, pp.Signature = other, d, ""
	if err := Sign(&pp, fakeSigner(s.peers[from])); err != nil {
		s.fail("%v", err)
	}
	return pp
}

func (s *sim) execute(i int, e Execute) {
	if s.kind[i] != 0 {
		return
	}
	id := s.peers[i]
	if e.Request.IsNull() {
		s.fail("replica %s executed the null request at %d", string(id), e.Sequence)
	}
	d := mustDigest(s.t, e.Request)
	if _, ok := s.byDig[d]; !ok {
		s.fail("replica %s executed a request the head never sent: %+v", string(id), e.Request)
	}
	if prev, ok := s.executed[i][e.Request.ID]; ok {
		s.fail("replica %s executed %s twice: at %d and %d", string(id), e.Request.ID, prev, e.Sequence)
	}
	if e.Sequence <= s.lastExec[i] {
		s.fail("replica %s executed sequence %d after %d", string(id), e.Sequence, s.lastExec[i])
	}
	if other, ok := s.execAt[e.Sequence]; ok && other != d {
		s.fail("replica %s executed %s at %d where another executed %s", string(id), s.byDig[d], e.Sequence, s.byDig[other])
	}
	s.execAt[e.Sequence] = d
	s.executed[i][e.Request.ID] = e.Sequence
	s.lastExec[i] = e.Sequence
}

func (s *sim) checkLiveness() {
	for i, r := range s.reps {
		if r == nil || s.kind[i] != 0 {
			continue
		}
		for _, req := range s.reqs {
			if _, ok := s.executed[i][req.ID]; !ok {
				s.fail("replica %s never executed %s (view %d active %v, executed %d, max view %d)",
					string(s.peers[i]), req.ID, r.View(), r.Active(), r.LastExecuted(), s.maxView)
			}
		}
	}
}

// randomParams draws a run: network conditions and up to f faults.
func randomParams(n int, seed uint64) simParams {
	rng := rand.New(rand.NewPCG(seed, 0xdecafbad))
	p := simParams{n: n, seed: seed}
	if rng.IntN(4) > 0 {
		p.gst = time.Duration(rng.Int64N(int64(6 * time.Second)))
		p.loss = rng.Float64() * 0.3
	}
	p.dup = rng.Float64() * 0.1
	f := (n - 1) / 3
	nf := rng.IntN(f + 1)
	used := map[int]bool{}
	for range nf {
		var fl fault
		if !used[0] && rng.IntN(2) == 0 {
			fl = fault{idx: 0, kind: faultEquivocating} // the primary of view 0
		} else {
			fl = fault{idx: rng.IntN(n), kind: faultSilent}
			if rng.IntN(3) == 0 {
				fl.kind = faultEquivocating // the primary of a later view
			}
		}
		if used[fl.idx] {
			continue
		}
		used[fl.idx] = true
		p.faults = append(p.faults, fl)
	}
	return p
}

// TestSimulation runs 150 seeds with 4 replicas and 50 with 7, which keeps `make test` (-race,
// 2 cores) short; tens of thousands passed when it was written. PBFT_SIM_SEEDS=k runs k times as
// many (seeds from PBFT_SIM_FROM, default 1).
func TestSimulation(t *testing.T) {
	scale, from := uint64(1), uint64(1)
	if v := os.Getenv("PBFT_SIM_SEEDS"); v != "" {
		if _, err := fmt.Sscan(v, &scale); err != nil {
			t.Fatal(err)
		}
	}
	if v := os.Getenv("PBFT_SIM_FROM"); v != "" {
		if _, err := fmt.Sscan(v, &from); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		n     int
		seeds uint64
	}{{4, 150 * scale}, {7, 50 * scale}} {
		t.Run(fmt.Sprintf("n=%d", c.n), func(t *testing.T) {
			t.Parallel()
			steps, views := 0, uint(0)
			for seed := from; seed < from+c.seeds; seed++ {
				s := newSim(t, randomParams(c.n, seed))
				s.run()
				s.checkLiveness()
				steps += s.steps
				views = max(views, s.maxView)
			}
			t.Logf("%d runs, %d steps, highest view %d", c.seeds, steps, views)
		})
	}
}

// One run of each fault with heavy loss, for the record.
func TestSimulationFaults(t *testing.T) {
	for _, p := range []simParams{
		{n: 4, seed: 1, requests: 3, faults: []fault{{idx: 0, kind: faultSilent}}},
		{n: 4, seed: 2, requests: 3, faults: []fault{{idx: 0, kind: faultEquivocating}}},
		{n: 4, seed: 3, requests: 4, gst: 5 * time.Second, loss: 0.4, faults: []fault{{idx: 1, kind: faultSilent}}},
		{n: 7, seed: 4, requests: 3, faults: []fault{{idx: 0, kind: faultEquivocating}, {idx: 1, kind: faultSilent}}},
		{n: 7, seed: 5, requests: 5, gst: 5 * time.Second, loss: 0.4, dup: 0.2, faults: []fault{{idx: 2, kind: faultSilent}, {idx: 3, kind: faultSilent}}},
	} {
		t.Run(p.String(), func(t *testing.T) {
			s := newSim(t, p)
			s.run()
			s.checkLiveness()
		})
	}
}
