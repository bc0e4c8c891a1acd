package pbft

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The replica: spec §6's PBFT as a pure state machine. Step takes one input (the head's
// request, a message from another replica, the request timer firing) and the time it was
// observed, and returns what to do: messages to broadcast (already signed), requests to execute,
// the request timer to arm or stop, and messages refused. It does no I/O, reads no clock, starts
// no goroutine and draws no random number.
//
// It follows the original b7s replica and its wire messages, and fixes what keeps the original
// from completing a view change or from staying safe across one:
//
//   - a backup recomputes a pre-prepare's digest instead of trusting the one given;
//   - requests are executed in sequence order as soon as every earlier sequence is decided, not
//     only when the commit that decides them arrives in order;
//   - the request timer is armed again when a view change starts, so that a view change that
//     fails moves on to the next view (see period for how long it waits);
//   - a replica joins a view change once f+1 others asked for views above its own, for the
//     highest view that f+1 of them asked for at least (the original counts ViewChanges one
//     view at a time, so replicas spread over several views never join);
//   - the new primary includes its own signed ViewChange in the NewView and signs every
//     pre-prepare in it, and a replica checks every ViewChange of a NewView (signature, validity,
//     2f+1 of them) and that the NewView re-proposes exactly what their prepared certificates
//     name — the request of the highest-view certificate at each sequence, the null request
//     where none has one; it accepts a NewView for a view above its own even in an active view;
//   - after a NewView, sequence numbers continue after the last one it re-proposed, and the new
//     primary proposes every request still pending that the NewView does not carry;
//   - a prepared certificate is kept until a higher view prepares the same sequence, not dropped
//     when the view changes: a ViewChange carries the highest-view certificate of every sequence
//     this replica prepared, the null request's included (the original leaves out what it
//     prepared in older views, so a view change after another one could re-propose a different
//     request at a sequence already executed);
//   - pending requests survive a view change: those the head sent until they execute, those only
//     a pre-prepare brought while a NewView still carries them;
//   - a request is executed once: a sequence whose request was already executed (a request a
//     view change re-proposed at a second sequence) advances the sequence without Execute.
//
// And it adds what the original lacks for liveness when messages are lost, late or reordered:
//
//   - pre-prepares, prepares and commits for the view being changed to (or a few views ahead)
//     are kept and acted on once that view starts, rather than dropped because they overtook the
//     NewView;
//   - a sequence is decided by 2f+1 matching commits from any view (at least f+1 of them from
//     correct replicas that prepared it, so it is committed), even by a replica that did not
//     prepare it itself or has moved to a later view;
//   - a replica that receives a ViewChange from a peer asking for a view it is not in itself
//     (the peer lags, or missed messages) sends what the peer may need to catch up, once per
//     view the peer asks for: in an active view its NewView and pre-prepares as primary and its
//     prepares, and in any case every commit it sent;
//   - the timer of a view change waits as long at every replica changing to the same view, and
//     longer for later views, so that replicas that fell apart come together again;
//   - what a peer can make a replica keep is bounded: messages for sequences more than
//     seqWindow past the last executed, or views more than viewWindow ahead, are refused, and
//     only each peer's first prepare and commit per view and sequence, and its latest
//     ViewChange, are kept.

// Config is a replica's configuration.
type Config struct {
	Self peer.ID
	// Peers is the cluster in MsgFormCluster order: the primary of view v is Peers[v mod n]. At
	// least MinReplicas, Self among them, no duplicates.
	Peers          []peer.ID
	RequestTimeout time.Duration // the request timer (> 0)
	Sign           Signer        // signs this replica's messages
	Verify         Verifier      // checks a peer's signature
}

// Input is what a replica steps on: ClientRequest, Receive or Timeout.
type Input interface{ isInput() }

// ClientRequest is the head's request. The caller already checked Request.Execute's signature
// against Request.Origin.
type ClientRequest struct{ Request Request }

// Receive is a message from another peer of the cluster: the caller checked that From is one and
// is not Self. The message's PBFT signature is checked by the replica.
type Receive struct {
	From peer.ID
	Msg  Message
}

// Timeout is the request timer firing: the primary is suspected and a view change starts (or
// moves on to the next view). One that comes while no timer is armed is ignored, and one that
// comes while no request is pending only disarms the timer.
type Timeout struct{}

func (ClientRequest) isInput() {}
func (Receive) isInput()       {}
func (Timeout) isInput()       {}

// Effect is what the caller must carry out, in the order returned.
type Effect interface{ isEffect() }

// Broadcast sends Msg, already signed, to every other peer of the cluster.
type Broadcast struct{ Msg Message }

// Execute runs Request now: it was decided at Sequence, committed in View. Never the null
// request; each request at most once; sequences in increasing order.
type Execute struct {
	Request        Request
	View, Sequence uint
}

// SetTimer (re)arms the single request timer: the caller steps Timeout at (or after) At. It
// replaces any timer armed before.
type SetTimer struct{ At time.Time }

// StopTimer disarms the request timer.
type StopTimer struct{}

// Drop reports a message refused, for logs and metrics. Reason is one of the Drop… labels.
type Drop struct {
	From   peer.ID
	Type   MessageType
	Reason string
}

func (Broadcast) isEffect() {}
func (Execute) isEffect()   {}
func (SetTimer) isEffect()  {}
func (StopTimer) isEffect() {}
func (Drop) isEffect()      {}

// Why a replica refuses a message (Drop.Reason, a metric label). DropNotInCluster (net.go) is
// used too, for a message whose sender is not another peer of the cluster.
const (
	DropBadSignature          = "bad_signature"           // the sender's signature does not verify
	DropNotPrimary            = "not_primary"             // a PrePrepare or NewView from a peer that is not the view's primary
	DropWrongView             = "wrong_view"              // for an older view, or too far ahead
	DropViewChangeInProgress  = "view_change_in_progress" // for an older view, during a view change
	DropConflictingPrePrepare = "conflicting_preprepare"  // another PrePrepare holds the view and sequence
	DropBadDigest             = "bad_digest"              // a PrePrepare whose digest is not its request's
	DropFromPrimary           = "from_primary"            // a Prepare from the view's primary
	DropUnknownDigest         = "unknown_digest"          // a Prepare for another digest than the view's PrePrepare
	DropDuplicate             = "duplicate"               // the sender already sent one for this view and sequence (or view)
	DropOutOfWindow           = "out_of_window"           // sequence 0, or too far past the last executed
	DropViewActive            = "view_active"             // a NewView for the view this replica is active in
	DropStaleView             = "stale_view"              // a ViewChange or NewView for a view below the current one
	DropInvalidViewChange     = "invalid_view_change"     // a ViewChange that fails validation
	DropInvalidNewView        = "invalid_new_view"        // a NewView that fails validation
	DropUnexpectedType        = "unexpected_type"         // a Request or unknown message from a peer
)

// DropReasons is every Drop.Reason a replica reports.
func DropReasons() []string {
	return []string{DropNotInCluster, DropBadSignature, DropNotPrimary, DropWrongView, DropViewChangeInProgress,
		DropConflictingPrePrepare, DropBadDigest, DropFromPrimary, DropUnknownDigest, DropDuplicate,
		DropOutOfWindow, DropViewActive, DropStaleView, DropInvalidViewChange, DropInvalidNewView,
		DropUnexpectedType}
}

const (
	// seqWindow is how far past the last executed sequence pre-prepares, prepares and commits
	// are kept: it bounds what a faulty peer can make a replica store.
	seqWindow = 1024
	// viewWindow is how many views past the current one pre-prepares, prepares and commits are
	// kept for when that view starts.
	viewWindow = 4
	// maxBackoff is how many times the view-change timer doubles at most.
	maxBackoff = 6
)

// slot is a (view, sequence) pair.
type slot struct{ view, seq uint }

// entry is what a replica holds for one slot.
type entry struct {
	pp          *PrePrepare
	prepares    map[peer.ID]Prepare // the first from each sender; the digest may differ from pp's
	sentPrepare bool
	sentCommit  bool
}

// decision is the digest decided at a sequence and the view whose commits decided it.
type decision struct {
	view   uint
	digest string
}

// Replica is one PBFT replica. It is not safe for concurrent use: one actor owns it.
type Replica struct {
	cfg   Config
	index map[peer.ID]int
	n, f  int

	view         uint // the current view, or the one being changed to
	active       bool // false during a view change
	entered      uint // the view last entered (active in): the log holds nothing older
	sequence     uint // the last sequence number assigned (primary) or re-proposed by a NewView
	lastExecuted uint

	log       map[slot]*entry
	inView    map[string]uint             // digest → sequence of the current view's pre-prepares
	commits   map[slot]map[peer.ID]Commit // the first from each sender, for undecided sequences
	decided   map[uint]decision           // decided sequences not executed yet
	certs     map[uint]PrepareInfo        // the highest-view prepared certificate of each sequence
	myCommits map[slot]Commit             // every commit this replica sent
	vcs       map[peer.ID]ViewChange      // each peer's highest-view valid ViewChange, this one's included
	helped    map[peer.ID]uint            // the highest view each peer was helped to catch up for
	newView   *NewView                    // the NewView this replica sent for its current view, as primary
	requests  map[string]Request          // known requests by digest
	executed  map[string]bool             // executed request IDs
	pending   map[string]bool             // digests of requests waiting to execute
	order     []string                    // pending digests in arrival order
	client    map[string]bool             // digests the head sent (ClientRequest)
	timer     bool                        // the request timer is armed
	timerAt   time.Time                   // when it fires
	now       time.Time                   // the time of the input being stepped
	out       []Effect                    // the effects of the input being stepped
}

// NewReplica validates cfg and returns a replica in view 0, active.
func NewReplica(cfg Config) (*Replica, error) {
	n := len(cfg.Peers)
	switch {
	case n < MinReplicas:
		return nil, fmt.Errorf("pbft needs at least %d replicas, got %d", MinReplicas, n)
	case cfg.RequestTimeout <= 0:
		return nil, fmt.Errorf("pbft request timeout must be positive, got %v", cfg.RequestTimeout)
	case cfg.Sign == nil || cfg.Verify == nil:
		return nil, errors.New("pbft needs a signer and a verifier")
	}
	index := make(map[peer.ID]int, n)
	for i, p := range cfg.Peers {
		if p == "" {
			return nil, fmt.Errorf("pbft peer %d is empty", i)
		}
		if _, dup := index[p]; dup {
			return nil, fmt.Errorf("pbft peer %s appears twice", p)
		}
		index[p] = i
	}
	if _, ok := index[cfg.Self]; !ok {
		return nil, fmt.Errorf("pbft replica %s is not among the peers", cfg.Self)
	}
	cfg.Peers = slices.Clone(cfg.Peers)
	return &Replica{
		cfg:       cfg,
		index:     index,
		n:         n,
		f:         (n - 1) / 3,
		active:    true,
		log:       make(map[slot]*entry),
		inView:    make(map[string]uint),
		commits:   make(map[slot]map[peer.ID]Commit),
		decided:   make(map[uint]decision),
		certs:     make(map[uint]PrepareInfo),
		myCommits: make(map[slot]Commit),
		vcs:       make(map[peer.ID]ViewChange),
		helped:    make(map[peer.ID]uint),
		requests:  make(map[string]Request),
		executed:  make(map[string]bool),
		pending:   make(map[string]bool),
		client:    make(map[string]bool),
	}, nil
}

// View is the current view: during a view change, the view being changed to.
func (r *Replica) View() uint { return r.view }

// Active is false during a view change.
func (r *Replica) Active() bool { return r.active }

// Primary is the primary of the current view.
func (r *Replica) Primary() peer.ID { return r.primaryOf(r.view) }

// LastExecuted is the last sequence executed (0: none).
func (r *Replica) LastExecuted() uint { return r.lastExecuted }

// F is the number of faulty replicas tolerated, ⌊(n-1)/3⌋.
func (r *Replica) F() int { return r.f }

// Step feeds one input observed at now and returns the effects to carry out. The effects share
// no memory with the replica, nor the replica with the input.
func (r *Replica) Step(in Input, now time.Time) []Effect {
	r.now = now
	switch in := in.(type) {
	case ClientRequest:
		r.onClientRequest(deepCopy(in.Request))
	case Receive:
		r.onReceive(in.From, in.Msg)
	case Timeout:
		r.onTimeout()
	}
	out := r.out
	r.out = nil
	return out
}

func (r *Replica) primaryOf(v uint) peer.ID { return r.cfg.Peers[v%uint(r.n)] }

func (r *Replica) isPrimary() bool { return r.primaryOf(r.view) == r.cfg.Self }

func (r *Replica) emit(e Effect) { r.out = append(r.out, e) }

func (r *Replica) drop(from peer.ID, t MessageType, reason string) {
	r.emit(Drop{From: from, Type: t, Reason: reason})
}

func (r *Replica) broadcast(m Message) { r.emit(Broadcast{Msg: deepCopy(m)}) }

func (r *Replica) sign(m Signed) bool { return Sign(m, r.cfg.Sign) == nil }

func (r *Replica) verify(m Signed, from peer.ID) bool { return Verify(m, from, r.cfg.Verify) }

// inWindow says whether messages for sequence seq are kept.
func (r *Replica) inWindow(seq uint) bool { return seq != 0 && seq <= r.lastExecuted+seqWindow }

func (r *Replica) entry(s slot) *entry {
	e := r.log[s]
	if e == nil {
		e = &entry{prepares: make(map[peer.ID]Prepare)}
		r.log[s] = e
	}
	return e
}

// lowerView is the reason a pre-prepare or prepare for a view below the current one is refused.
func (r *Replica) lowerView() string {
	if r.active {
		return DropWrongView
	}
	return DropViewChangeInProgress
}

// The request timer.

// period is how long the timer waits: the request timeout in an active view; during the change
// to view v, the request timeout doubled v-1 times (at most maxBackoff). It depends on the view
// alone, so that every replica changing to a view waits as long, and a replica ahead of the
// others (one whose NewView reached no one, one that timed out first) waits longer than they
// do and they catch up with it. Counting each replica's own attempts instead lets a replica
// ahead wait less than those behind it, and run away from them.
func (r *Replica) period() time.Duration {
	if r.active || r.view <= 1 {
		return r.cfg.RequestTimeout
	}
	d := r.cfg.RequestTimeout << min(r.view-1, maxBackoff)
	if d < r.cfg.RequestTimeout { // overflowed
		return r.cfg.RequestTimeout
	}
	return d
}

func (r *Replica) armTimer(at time.Time) {
	if r.timer && r.timerAt.Equal(at) {
		return
	}
	r.timer, r.timerAt = true, at
	r.emit(SetTimer{At: at})
}

func (r *Replica) stopTimer() {
	if r.timer {
		r.timer = false
		r.emit(StopTimer{})
	}
}

// ensureTimer starts the timer if requests are pending and none runs.
func (r *Replica) ensureTimer() {
	if !r.timer && len(r.pending) > 0 {
		r.armTimer(r.now.Add(r.period()))
	}
}

// Requests.

func (r *Replica) learn(digest string, req Request) {
	if digest == "" {
		return
	}
	if _, ok := r.requests[digest]; !ok {
		r.requests[digest] = req
	}
}

func (r *Replica) addPending(digest string) {
	if digest == "" || r.pending[digest] {
		return
	}
	if req, ok := r.requests[digest]; !ok || r.executed[req.ID] {
		return
	}
	r.pending[digest] = true
	r.order = append(r.order, digest)
}

func (r *Replica) removePending(digest string) {
	if !r.pending[digest] {
		return
	}
	delete(r.pending, digest)
	r.order = slices.DeleteFunc(r.order, func(d string) bool { return d == digest })
}

// digestMatches says whether digest is req's: "" for the null request.
func digestMatches(req Request, digest string) bool {
	if req.IsNull() {
		return digest == ""
	}
	d, err := req.Digest()
	return err == nil && d == digest
}

func (r *Replica) onClientRequest(req Request) {
	if req.IsNull() || r.executed[req.ID] {
		return // nothing to order, or executed already: the actor answers from its cache
	}
	d, err := req.Digest()
	if err != nil {
		return
	}
	r.learn(d, req)
	r.client[d] = true
	r.addPending(d)
	r.propose(d)
	r.ensureTimer()
	r.tryExecute() // a sequence decided before its request arrived
}

// propose pre-prepares the pending request digest at the next sequence, if this replica is the
// primary of an active view and the request is not pre-prepared in this view or decided already.
func (r *Replica) propose(digest string) {
	if !r.active || !r.isPrimary() || !r.pending[digest] || r.sequence+1 > r.lastExecuted+seqWindow {
		return
	}
	if _, ok := r.inView[digest]; ok {
		return
	}
	for _, d := range r.decided {
		if d.digest == digest {
			return
		}
	}
	pp := PrePrepare{View: r.view, SequenceNumber: r.sequence + 1, Digest: digest, Request: r.requests[digest]}
	if !r.sign(&pp) {
		return
	}
	r.sequence++
	s := slot{r.view, r.sequence}
	r.entry(s).pp = &pp
	r.inView[digest] = s.seq
	r.broadcast(pp)
	r.progress(s)
}

// Messages from peers.

// normalize turns a pointer to a message into the message; nil stays nil.
func normalize(m Message) Message {
	switch v := m.(type) {
	case *Request:
		if v != nil {
			return *v
		}
	case *PrePrepare:
		if v != nil {
			return *v
		}
	case *Prepare:
		if v != nil {
			return *v
		}
	case *Commit:
		if v != nil {
			return *v
		}
	case *ViewChange:
		if v != nil {
			return *v
		}
	case *NewView:
		if v != nil {
			return *v
		}
	default:
		return m
	}
	return nil
}

func (r *Replica) onReceive(from peer.ID, msg Message) {
	msg = normalize(msg)
	var t MessageType
	if msg != nil {
		t = msg.Type()
	}
	if _, ok := r.index[from]; !ok || from == r.cfg.Self {
		r.drop(from, t, DropNotInCluster)
		return
	}
	// Prepares and commits hold no memory of their own; the other messages are copied when
	// kept, so the replica and its caller share nothing.
	switch m := msg.(type) {
	case PrePrepare:
		r.onPrePrepare(from, m)
	case Prepare:
		r.onPrepare(from, m)
	case Commit:
		r.onCommit(from, m)
	case ViewChange:
		r.onViewChange(from, m)
	case NewView:
		r.onNewView(from, m)
	default:
		r.drop(from, t, DropUnexpectedType)
	}
}

func (r *Replica) onPrePrepare(from peer.ID, pp PrePrepare) {
	const t = TypePrePrepare
	switch {
	case pp.View < r.view:
		r.drop(from, t, r.lowerView())
	case from != r.primaryOf(pp.View):
		r.drop(from, t, DropNotPrimary)
	case pp.View > r.view+viewWindow:
		r.drop(from, t, DropWrongView)
	case !r.verify(&pp, from):
		r.drop(from, t, DropBadSignature)
	case !r.inWindow(pp.SequenceNumber):
		r.drop(from, t, DropOutOfWindow)
	case !digestMatches(pp.Request, pp.Digest):
		r.drop(from, t, DropBadDigest) // the original trusts the digest given
	default:
		pp = deepCopy(pp)
		r.learn(pp.Digest, pp.Request)
		s := slot{pp.View, pp.SequenceNumber}
		e := r.entry(s)
		if e.pp != nil {
			if e.pp.Digest == pp.Digest {
				r.drop(from, t, DropDuplicate)
			} else {
				r.drop(from, t, DropConflictingPrePrepare)
			}
			return
		}
		e.pp = &pp
		if pp.View == r.view && r.active {
			r.accept(s)
		}
		// Otherwise kept until the view starts.
	}
}

// accept acts on the pre-prepare of slot s of the active view: its request is pending and the
// timer runs; a backup broadcasts its prepare.
func (r *Replica) accept(s slot) {
	e := r.log[s]
	if _, ok := r.inView[e.pp.Digest]; !ok && e.pp.Digest != "" {
		r.inView[e.pp.Digest] = s.seq
	}
	r.addPending(e.pp.Digest)
	r.ensureTimer()
	if !r.isPrimary() && !e.sentPrepare {
		p := Prepare{View: s.view, SequenceNumber: s.seq, Digest: e.pp.Digest}
		if r.sign(&p) {
			e.sentPrepare = true
			e.prepares[r.cfg.Self] = p
			r.broadcast(p)
		}
	}
	r.progress(s)
}

// prepared says whether slot s holds its pre-prepare and 2f matching prepares.
func (r *Replica) prepared(s slot, e *entry) bool {
	if e == nil || e.pp == nil {
		return false
	}
	n := 0
	for _, p := range e.prepares {
		if p.Digest == e.pp.Digest {
			n++
		}
	}
	return n >= 2*r.f
}

// progress commits slot s of the active view once it is prepared.
func (r *Replica) progress(s slot) {
	if !r.active || s.view != r.view {
		return
	}
	e := r.log[s]
	if !r.prepared(s, e) {
		return
	}
	if c, ok := r.certs[s.seq]; !ok || c.View < s.view {
		prepares := make(map[peer.ID]Prepare)
		for id, p := range e.prepares {
			if p.Digest == e.pp.Digest {
				prepares[id] = p
			}
		}
		r.certs[s.seq] = PrepareInfo{View: s.view, SequenceNumber: s.seq, Digest: e.pp.Digest, PrePrepare: *e.pp, Prepares: prepares}
	}
	if e.sentCommit {
		return
	}
	c := Commit{View: s.view, SequenceNumber: s.seq, Digest: e.pp.Digest}
	if !r.sign(&c) {
		return
	}
	e.sentCommit = true
	r.myCommits[s] = c
	r.broadcast(c)
	r.recordCommit(r.cfg.Self, c)
}

func (r *Replica) onPrepare(from peer.ID, p Prepare) {
	const t = TypePrepare
	switch {
	case p.View < r.view:
		r.drop(from, t, r.lowerView())
		return
	case p.View > r.view+viewWindow:
		r.drop(from, t, DropWrongView)
		return
	case from == r.primaryOf(p.View):
		r.drop(from, t, DropFromPrimary)
		return
	case !r.verify(&p, from):
		r.drop(from, t, DropBadSignature)
		return
	case !r.inWindow(p.SequenceNumber):
		r.drop(from, t, DropOutOfWindow)
		return
	}
	s := slot{p.View, p.SequenceNumber}
	e := r.entry(s)
	if _, dup := e.prepares[from]; dup {
		r.drop(from, t, DropDuplicate)
		return
	}
	if e.pp != nil && e.pp.Digest != p.Digest {
		r.drop(from, t, DropUnknownDigest)
		return
	}
	e.prepares[from] = p
	r.progress(s)
}

func (r *Replica) onCommit(from peer.ID, c Commit) {
	const t = TypeCommit
	switch {
	case c.View > r.view+viewWindow:
		r.drop(from, t, DropWrongView)
	case !r.verify(&c, from):
		r.drop(from, t, DropBadSignature)
	case !r.inWindow(c.SequenceNumber):
		r.drop(from, t, DropOutOfWindow)
	case c.SequenceNumber <= r.lastExecuted:
		// Executed already: nothing to learn.
	default:
		s := slot{c.View, c.SequenceNumber}
		if _, dup := r.commits[s][from]; dup {
			r.drop(from, t, DropDuplicate)
			return
		}
		r.recordCommit(from, c)
	}
}

// recordCommit counts c and decides its sequence once 2f+1 replicas committed the same digest
// in the same view. That needs no prepare of this replica's: at least f+1 of them are correct
// and prepared it, so it is committed, and no view can decide anything else at that sequence.
func (r *Replica) recordCommit(from peer.ID, c Commit) {
	s := slot{c.View, c.SequenceNumber}
	cs := r.commits[s]
	if cs == nil {
		cs = make(map[peer.ID]Commit)
		r.commits[s] = cs
	}
	cs[from] = c
	n := 0
	for _, o := range cs {
		if o.Digest == c.Digest {
			n++
		}
	}
	if n < 2*r.f+1 || s.seq <= r.lastExecuted {
		return
	}
	if _, ok := r.decided[s.seq]; ok {
		return
	}
	r.decided[s.seq] = decision{view: s.view, digest: c.Digest}
	r.tryExecute()
}

// tryExecute executes decided sequences in order, as long as the next one is decided and its
// request known.
func (r *Replica) tryExecute() {
	ran := false
	for {
		s := r.lastExecuted + 1
		d, ok := r.decided[s]
		if !ok {
			break
		}
		if d.digest == "" { // the null request
			delete(r.decided, s)
			r.lastExecuted = s
			continue
		}
		req, ok := r.requests[d.digest]
		if !ok {
			break // until its request arrives
		}
		delete(r.decided, s)
		r.lastExecuted = s
		for _, p := range slices.Clone(r.order) {
			if r.requests[p].ID == req.ID {
				r.removePending(p)
			}
		}
		if r.executed[req.ID] {
			continue // re-proposed at a second sequence: executed once
		}
		r.executed[req.ID] = true
		r.emit(Execute{Request: deepCopy(req), View: d.view, Sequence: s})
		ran = true
	}
	for s := range r.commits {
		if s.seq <= r.lastExecuted {
			delete(r.commits, s)
		}
	}
	// After executing, the timer waits for what is still pending; during a view change it goes
	// on guarding the view change (unless nothing is pending any more).
	switch {
	case !ran:
	case len(r.pending) == 0:
		r.stopTimer()
	case r.active:
		r.armTimer(r.now.Add(r.period()))
	}
}

// View changes.

func (r *Replica) onTimeout() {
	if !r.timer {
		return
	}
	r.timer = false
	if len(r.pending) == 0 {
		return // nothing waits: no primary to suspect
	}
	r.startViewChange(r.view + 1)
}

// startViewChange moves to view v, inactive, and broadcasts this replica's ViewChange.
func (r *Replica) startViewChange(v uint) {
	r.view, r.active = v, false
	vc := ViewChange{View: v, Prepares: r.prepareSet()}
	if r.sign(&vc) {
		r.vcs[r.cfg.Self] = vc
		r.broadcast(vc)
	}
	r.armTimer(r.now.Add(r.period()))
	r.maybeNewView()
}

// prepareSet is this replica's prepared certificates, by sequence; nil when none (the original
// writes null).
func (r *Replica) prepareSet() []PrepareInfo {
	var out []PrepareInfo
	for _, seq := range sortedKeys(r.certs) {
		out = append(out, r.certs[seq])
	}
	return out
}

func (r *Replica) onViewChange(from peer.ID, vc ViewChange) {
	const t = TypeViewChange
	if vc.View < r.view {
		r.drop(from, t, DropStaleView)
		return
	}
	if !r.verify(&vc, from) {
		r.drop(from, t, DropBadSignature)
		return
	}
	if prev, ok := r.vcs[from]; ok && prev.View >= vc.View {
		if prev.View == vc.View {
			r.drop(from, t, DropDuplicate)
		} else {
			r.drop(from, t, DropStaleView)
		}
		return
	}
	if err := r.validViewChange(vc); err != nil {
		r.drop(from, t, DropInvalidViewChange)
		return
	}
	r.vcs[from] = deepCopy(vc)
	r.help(from, vc.View)
	r.maybeJoin()
	r.maybeNewView()
}

// validViewChange checks a ViewChange's content (not its signature): view above 0, and each
// prepared certificate for an older view, with its primary's pre-prepare and 2f matching prepares
// from other peers of the cluster, each signed.
func (r *Replica) validViewChange(vc ViewChange) error {
	if vc.View == 0 {
		return errors.New("view change to view 0")
	}
	for _, pi := range vc.Prepares {
		if err := r.validCertificate(vc.View, pi); err != nil {
			return fmt.Errorf("certificate for sequence %d of view %d: %w", pi.SequenceNumber, pi.View, err)
		}
	}
	return nil
}

func (r *Replica) validCertificate(view uint, pi PrepareInfo) error {
	pp := pi.PrePrepare
	primary := r.primaryOf(pi.View)
	switch {
	case pi.View >= view || !r.inWindow(pi.SequenceNumber):
		return errors.New("bad view or sequence")
	case pp.View != pi.View || pp.SequenceNumber != pi.SequenceNumber:
		return errors.New("its pre-prepare is for another view or sequence")
	case pi.Digest != pp.Digest:
		return errors.New("digest does not match")
	case len(pi.Prepares) < 2*r.f:
		return fmt.Errorf("%d prepares", len(pi.Prepares))
	}
	// What this replica holds in its log was checked when it came; the rest is checked here.
	e := r.log[slot{pi.View, pi.SequenceNumber}]
	if e == nil || e.pp == nil || !reflect.DeepEqual(*e.pp, pp) {
		if !digestMatches(pp.Request, pp.Digest) {
			return errors.New("digest does not match")
		}
		if !r.verify(&pp, primary) {
			return errors.New("pre-prepare not signed by the view's primary")
		}
	}
	for id, p := range pi.Prepares {
		if _, ok := r.index[id]; !ok || id == primary {
			return fmt.Errorf("prepare from %s", id)
		}
		if p.View != pi.View || p.SequenceNumber != pi.SequenceNumber || p.Digest != pi.Digest {
			return fmt.Errorf("prepare from %s for another request", id)
		}
		if e != nil && e.prepares[id] == p {
			continue
		}
		if !r.verify(&p, id) {
			return fmt.Errorf("prepare from %s not signed", id)
		}
	}
	return nil
}

// help sends peer p, which asks for view v, what it may have missed, once per view it asks
// for: in an active view (v at or above it), the NewView and pre-prepares as primary and the
// prepares of the view; in an active view or during a view change to a view below v, every
// commit this replica sent, so that p may complete the 2f+1 commits of the view in which the
// others decided a sequence it missed. Replicas changing to the same view as p help no one:
// they all are where p is.
func (r *Replica) help(p peer.ID, v uint) {
	if !r.active && v <= r.view {
		return
	}
	if h, ok := r.helped[p]; ok && h >= v {
		return
	}
	r.helped[p] = v
	if r.active {
		primary := r.isPrimary()
		if primary && r.newView != nil && r.newView.View == r.view {
			r.broadcast(*r.newView)
		}
		for _, s := range r.slotsOf(r.view) {
			e := r.log[s]
			if primary && e.pp != nil {
				r.broadcast(*e.pp)
			}
			if mine, ok := e.prepares[r.cfg.Self]; ok {
				r.broadcast(mine)
			}
		}
	}
	mine := make([]slot, 0, len(r.myCommits))
	for s := range r.myCommits {
		mine = append(mine, s)
	}
	slices.SortFunc(mine, func(a, b slot) int {
		if a.seq != b.seq {
			return cmp.Compare(a.seq, b.seq)
		}
		return cmp.Compare(a.view, b.view)
	})
	for _, s := range mine {
		r.broadcast(r.myCommits[s])
	}
}

// maybeJoin starts a view change once f+1 other peers asked for views above the current one,
// for the highest view that f+1 of them asked for at least.
func (r *Replica) maybeJoin() {
	var views []uint
	for id, vc := range r.vcs {
		if id != r.cfg.Self && vc.View > r.view {
			views = append(views, vc.View)
		}
	}
	if len(views) < r.f+1 {
		return
	}
	slices.Sort(views)
	r.startViewChange(views[len(views)-1-r.f])
}

// maybeNewView starts the view being changed to, if this replica is its primary and holds 2f+1
// ViewChanges for it, its own included.
func (r *Replica) maybeNewView() {
	v := r.view
	if r.active || !r.isPrimary() {
		return
	}
	if own, ok := r.vcs[r.cfg.Self]; !ok || own.View != v {
		return
	}
	set := make(map[peer.ID]ViewChange)
	for id, vc := range r.vcs {
		if vc.View == v {
			set[id] = vc
		}
	}
	if len(set) < 2*r.f+1 {
		return
	}
	want := reproposals(set)
	pps := make([]PrePrepare, len(want))
	for i, w := range want {
		pps[i] = PrePrepare{View: v, SequenceNumber: uint(i + 1), Digest: w.digest, Request: w.request}
		if !r.sign(&pps[i]) {
			return
		}
	}
	nv := NewView{View: v, Messages: set, PrePrepares: pps}
	if !r.sign(&nv) {
		return
	}
	r.broadcast(nv)
	r.enterView(v, pps)
	r.newView = &nv
	for _, d := range slices.Clone(r.order) {
		r.propose(d)
	}
	r.maybeJoin() // f+1 peers may have moved past this view already
}

// reproposal is what a NewView pre-prepares at one sequence.
type reproposal struct {
	digest  string
	request Request
}

// reproposals is what a NewView built on the ViewChanges set must pre-prepare at sequences 1 to
// the highest one prepared in set: at each, the request of the highest-view certificate (the
// lowest digest among certificates of that view, so that every replica picks the same one), the
// null request where no certificate has one.
func reproposals(set map[peer.ID]ViewChange) []reproposal {
	best := make(map[uint]PrepareInfo)
	var top uint
	for _, vc := range set {
		for _, pi := range vc.Prepares {
			cur, ok := best[pi.SequenceNumber]
			if !ok || pi.View > cur.View || (pi.View == cur.View && pi.Digest < cur.Digest) {
				best[pi.SequenceNumber] = pi
			}
			top = max(top, pi.SequenceNumber)
		}
	}
	out := make([]reproposal, top)
	for seq, pi := range best {
		out[seq-1] = reproposal{digest: pi.Digest, request: pi.PrePrepare.Request}
	}
	return out
}

func (r *Replica) onNewView(from peer.ID, nv NewView) {
	const t = TypeNewView
	switch {
	case nv.View < r.view:
		r.drop(from, t, DropStaleView)
	case nv.View == r.view && r.active:
		r.drop(from, t, DropViewActive)
	case from != r.primaryOf(nv.View):
		r.drop(from, t, DropNotPrimary)
	case !r.verify(&nv, from):
		r.drop(from, t, DropBadSignature)
	case r.validNewView(from, nv) != nil:
		r.drop(from, t, DropInvalidNewView)
	default:
		r.enterView(nv.View, deepCopy(nv.PrePrepares))
		r.maybeJoin() // f+1 peers may have moved past this view already
	}
}

// validNewView checks a NewView's content: 2f+1 valid ViewChanges for its view, each signed by
// a peer of the cluster, and exactly the pre-prepares they call for, each signed by primary.
func (r *Replica) validNewView(primary peer.ID, nv NewView) error {
	if len(nv.Messages) < 2*r.f+1 {
		return fmt.Errorf("%d view changes", len(nv.Messages))
	}
	for id, vc := range nv.Messages {
		if _, ok := r.index[id]; !ok {
			return fmt.Errorf("view change from %s, not a peer of the cluster", id)
		}
		if vc.View != nv.View {
			return fmt.Errorf("view change from %s for view %d", id, vc.View)
		}
		if known, ok := r.vcs[id]; ok && reflect.DeepEqual(known, vc) {
			continue // checked when it came from id
		}
		if !r.verify(&vc, id) {
			return fmt.Errorf("view change from %s not signed", id)
		}
		if err := r.validViewChange(vc); err != nil {
			return fmt.Errorf("view change from %s: %w", id, err)
		}
	}
	for i, pp := range nv.PrePrepares {
		if pp.View != nv.View || pp.SequenceNumber != uint(i+1) {
			return fmt.Errorf("pre-prepare %d is for view %d, sequence %d", i, pp.View, pp.SequenceNumber)
		}
	}
	want := reproposals(nv.Messages)
	if len(nv.PrePrepares) != len(want) {
		return fmt.Errorf("%d pre-prepares where the certificates call for %d", len(nv.PrePrepares), len(want))
	}
	for i, pp := range nv.PrePrepares {
		switch {
		case pp.Digest != want[i].digest:
			return fmt.Errorf("sequence %d pre-prepares another request than its certificate", pp.SequenceNumber)
		case !digestMatches(pp.Request, pp.Digest):
			return fmt.Errorf("sequence %d: digest does not match its request", pp.SequenceNumber)
		case !r.verify(&pp, primary):
			return fmt.Errorf("sequence %d not signed by the primary", pp.SequenceNumber)
		}
	}
	return nil
}

// enterView makes v the active view with the NewView's pre-prepares pps: state of older views
// goes, pps replace what was kept for their sequences, and every pre-prepare of v is acted on.
func (r *Replica) enterView(v uint, pps []PrePrepare) {
	r.view, r.active, r.entered = v, true, v
	r.newView = nil
	for s := range r.log {
		if s.view < v {
			delete(r.log, s)
		}
	}
	clear(r.inView)
	carried := make(map[string]bool, len(pps))
	for i := range pps {
		pp := pps[i]
		e := r.entry(slot{v, pp.SequenceNumber})
		if e.pp == nil || e.pp.Digest != pp.Digest {
			e.pp = &pp
		}
		r.learn(pp.Digest, pp.Request)
		carried[pp.Digest] = true
	}
	// A request only a pre-prepare brought waits no longer unless the NewView carries it.
	for _, d := range slices.Clone(r.order) {
		if !r.client[d] && !carried[d] {
			r.removePending(d)
		}
	}
	r.sequence = uint(len(pps))
	for _, s := range r.slotsOf(v) {
		if r.log[s].pp != nil {
			r.accept(s)
		}
	}
	if len(r.pending) > 0 {
		r.armTimer(r.now.Add(r.cfg.RequestTimeout))
	} else {
		r.stopTimer()
	}
}

// slotsOf is the slots of view v in the log, by sequence.
func (r *Replica) slotsOf(v uint) []slot {
	var out []slot
	for s := range r.log {
		if s.view == v {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b slot) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func sortedKeys[V any](m map[uint]V) []uint {
	keys := make([]uint, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkInvariants reports what must hold between steps (for tests).
func (r *Replica) checkInvariants() error {
	var errs []error
	if len(r.pending) > 0 && !r.timer {
		errs = append(errs, fmt.Errorf("%d requests pending and no timer", len(r.pending)))
	}
	if len(r.pending) != len(r.order) {
		errs = append(errs, fmt.Errorf("%d pending, %d in order", len(r.pending), len(r.order)))
	}
	for _, d := range r.order {
		if !r.pending[d] {
			errs = append(errs, fmt.Errorf("%.8s in order, not pending", d))
		}
		if req, ok := r.requests[d]; !ok || r.executed[req.ID] {
			errs = append(errs, fmt.Errorf("%.8s pending: unknown or executed", d))
		}
	}
	if r.active != (r.entered == r.view) {
		errs = append(errs, fmt.Errorf("active %v in view %d, last entered %d", r.active, r.view, r.entered))
	}
	if !r.active {
		if own, ok := r.vcs[r.cfg.Self]; ok && own.View != r.view {
			errs = append(errs, fmt.Errorf("own view change for view %d during the change to %d", own.View, r.view))
		}
	}
	for s, e := range r.log {
		if s.view < r.entered {
			errs = append(errs, fmt.Errorf("slot %v older than view %d", s, r.entered))
		}
		if e.pp != nil && (e.pp.View != s.view || e.pp.SequenceNumber != s.seq) {
			errs = append(errs, fmt.Errorf("slot %v holds the pre-prepare of %d/%d", s, e.pp.View, e.pp.SequenceNumber))
		}
		if r.active && s.view == r.view && e.pp != nil && r.isPrimary() && s.seq > r.sequence {
			errs = append(errs, fmt.Errorf("primary holds sequence %d past its sequence %d", s.seq, r.sequence))
		}
	}
	for seq := range r.decided {
		if seq <= r.lastExecuted {
			errs = append(errs, fmt.Errorf("sequence %d decided, executed already", seq))
		}
	}
	for seq, c := range r.certs {
		if c.SequenceNumber != seq || len(c.Prepares) < 2*r.f || c.Digest != c.PrePrepare.Digest {
			errs = append(errs, fmt.Errorf("bad certificate at sequence %d", seq))
		}
	}
	return errors.Join(errs...)
}

// deepCopy copies v and everything it points to (maps, slices, pointers, interfaces), so that
// neither the replica nor its caller sees the other's changes. Unexported fields (time.Time's)
// are copied as they are.
func deepCopy[T any](v T) T {
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.New(src.Type()).Elem()
	copyValue(dst, src)
	return dst.Interface().(T)
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if !src.IsNil() {
			p := reflect.New(src.Type().Elem())
			copyValue(p.Elem(), src.Elem())
			dst.Set(p)
		}
	case reflect.Interface:
		if !src.IsNil() {
			e := reflect.New(src.Elem().Type()).Elem()
			copyValue(e, src.Elem())
			dst.Set(e)
		}
	case reflect.Map:
		if !src.IsNil() {
			m := reflect.MakeMapWithSize(src.Type(), src.Len())
			for it := src.MapRange(); it.Next(); {
				val := reflect.New(it.Value().Type()).Elem()
				copyValue(val, it.Value())
				m.SetMapIndex(it.Key(), val)
			}
			dst.Set(m)
		}
	case reflect.Slice:
		if !src.IsNil() {
			s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
			for i := range src.Len() {
				copyValue(s.Index(i), src.Index(i))
			}
			dst.Set(s)
		}
	case reflect.Array:
		for i := range src.Len() {
			copyValue(dst.Index(i), src.Index(i))
		}
	case reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}
