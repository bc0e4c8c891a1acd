package actors

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/consensus/pbft"
	craft "github.com/b7s-actor/b7s/consensus/raft"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/messages"
)

// ClusterConfig is how a worker serves consensus clusters.
type ClusterConfig struct {
	// FormTimeout: a replica that sees no leader this long after MsgFormCluster answers "500"
	// and is removed. A head waits as long for its workers (actors.Config.ClusterFormationTimeout
	// is one setting for both).
	FormTimeout time.Duration
	// AbandonAfter: a cluster whose head sends nothing more (no MsgExecute, no disband) this long
	// after it formed, or after the request it was sent ran out of time, is removed: its head
	// is gone.
	AbandonAfter time.Duration
	// AddressTTL is how long MsgFormCluster's connection_info addresses stay in the peerstore
	// (spec §4.1: 30 min).
	AddressTTL time.Duration
	Raft       craft.Config
	// PBFTRequestTimeout is a PBFT replica's request timer: a request not executed this long
	// after it arrived (or after the last one executed) starts a view change. Well inside a
	// request's 20 s, so a silent primary is replaced in time (the original: 10 s).
	PBFTRequestTimeout time.Duration
	// PBFTSilent, while it returns true, silences this worker's PBFT replicas (spec §6's
	// B7S_PBFT_BYZANTINE test hook, ByzantineFromEnv; tests flip it per node). Nil: never.
	PBFTSilent func() bool
}

// DefaultClusterConfig: a leader within 10 s, a silent head given up after 30 s.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{FormTimeout: 10 * time.Second, AbandonAfter: 30 * time.Second, AddressTTL: 30 * time.Minute,
		Raft: craft.DefaultConfig(), PBFTRequestTimeout: 2 * time.Second}
}

func (c ClusterConfig) validate() error {
	var errs []error
	if c.FormTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("Cluster.FormTimeout: %v is below the minimum 1ms", c.FormTimeout))
	}
	if c.PBFTRequestTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("Cluster.PBFTRequestTimeout: %v is below the minimum 1ms", c.PBFTRequestTimeout))
	}
	if c.AbandonAfter < time.Millisecond {
		errs = append(errs, fmt.Errorf("Cluster.AbandonAfter: %v is below the minimum 1ms", c.AbandonAfter))
	}
	if err := c.Raft.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Cluster.Raft: %w", err))
	}
	return errors.Join(errs...)
}

// clustersConfig configures a worker's clusters actor.
type clustersConfig struct {
	ClusterConfig
	Self peer.ID
	// Mux hosts the replicas' Raft streams; nil: this worker serves no Raft cluster (it then
	// stays silent on Raft roll calls and refuses MsgFormCluster with "501").
	Mux              *craft.Mux
	Key              crypto.PrivKey // PBFT needs it; nil: PBFT clusters are refused
	Work             *actor.PID     // runs what a cluster commits
	ExecutionTimeout time.Duration  // a request's run when it sets no timeout (as the work actor's)
	Outbox           *outbox
	Tree             *tree
	Metrics          *nodeMetrics
	Log              zerolog.Logger
}

// clusterExecute is a MsgExecute with consensus, handed over by the work actor.
type clusterExecute struct {
	From peer.ID
	Msg  messages.MsgExecute
}

// clusters is a worker's side of consensus: one child per request (clusters/<request-id>) that
// owns this node's replica of the request's cluster. It answers what it cannot serve itself.
type clusters struct {
	cfg      clustersConfig
	children map[string]clusterChild // by request ID
	byPID    map[string]string
	// pbft is the host's PBFT endpoint, shared by the PBFT replicas; nil when this worker
	// serves no PBFT clusters.
	pbft *pbft.Mux
}

type clusterChild struct {
	pid       *actor.PID
	head      peer.ID
	consensus messages.ConsensusType
}

func newClusters(cfg clustersConfig) actor.Producer {
	return func() actor.Actor { return &clusters{cfg: cfg} }
}

// Receive implements actor.Actor.
func (c *clusters) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.children = make(map[string]clusterChild)
		c.byPID = make(map[string]string)
		if c.cfg.Mux != nil && c.cfg.Key != nil {
			c.pbft = pbft.NewMux(c.cfg.Mux.Host(), func(from peer.ID, reason string, err error) {
				c.cfg.Metrics.pbftDropped.WithLabelValues("", reason).Inc()
				c.cfg.Log.Debug().Stringer("peer", from).Str("reason", reason).AnErr("error", err).Msg("pbft message dropped")
			})
		}
	case *actor.Stopping, *actor.Restarting:
		if c.pbft != nil { // the replicas stop with this actor; a restarted one installs its own
			c.pbft.Close()
			c.pbft = nil
		}
	case *delivery:
		switch wm := m.Message.(type) {
		case messages.MsgFormCluster:
			c.form(ctx, m.From, wm)
		case messages.MsgDisbandCluster:
			c.disband(ctx, m.From, wm)
		}
	case *clusterExecute:
		c.execute(ctx, m)
	case *actor.Terminated:
		if id, ok := c.byPID[m.Who.Id]; ok {
			c.cfg.Metrics.clustersAlive.WithLabelValues(c.children[id].consensus.String()).Dec()
			delete(c.byPID, m.Who.Id)
			delete(c.children, id)
		}
	}
}

// form starts a replica, or answers why it cannot.
func (c *clusters) form(ctx actor.Context, from peer.ID, m messages.MsgFormCluster) {
	if code, why := c.refusal(m); code != "" {
		c.cfg.Metrics.clustersFailed.WithLabelValues(m.Consensus.String(), "refused").Inc()
		c.cfg.Log.Info().Str("request", m.RequestID).Stringer("peer", from).Str("code", string(code)).Str("reason", why).
			Msg("cluster refused")
		c.answerForm(ctx.Self(), from, m, code, why)
		return
	}
	// Spec §4.6: the head's addresses of the other replicas, for those this node cannot reach yet.
	c.cfg.Mux.AddAddrs(m.ConnectionInfo, c.cfg.AddressTTL)
	kind, producer := "raft-replica", newRaftReplica(c.cfg, from, m)
	if m.Consensus == messages.ConsensusPBFT {
		kind, producer = "pbft-replica", newPBFTReplica(c.cfg, c.pbft, from, m)
	}
	pid, err := ctx.SpawnNamed(c.cfg.Tree.props(kind, producer), m.RequestID)
	if err != nil {
		c.cfg.Log.Error().Err(err).Str("request", m.RequestID).Msg("spawn raft replica")
		c.answerForm(ctx.Self(), from, m, messages.CodeError, "could not start the replica")
		return
	}
	c.children[m.RequestID] = clusterChild{pid: pid, head: from, consensus: m.Consensus}
	c.byPID[pid.Id] = m.RequestID
	c.cfg.Metrics.clustersAlive.WithLabelValues(m.Consensus.String()).Inc()
}

// refusal is the code and reason m is refused with, or "" when a replica can start.
func (c *clusters) refusal(m messages.MsgFormCluster) (messages.Code, string) {
	switch {
	case m.Consensus != messages.ConsensusRaft && m.Consensus != messages.ConsensusPBFT:
		return messages.CodeInvalid, fmt.Sprintf("consensus %d is not raft (1) or pbft (2)", uint(m.Consensus))
	case c.cfg.Mux == nil || (m.Consensus == messages.ConsensusPBFT && c.pbft == nil):
		return messages.CodeNotImplemented, fmt.Sprintf("this worker serves no %s clusters", m.Consensus)
	case len(m.Peers) == 0:
		return messages.CodeInvalid, "no peers"
	case m.Consensus == messages.ConsensusPBFT && len(m.Peers) < pbft.MinReplicas:
		return messages.CodeInvalid, fmt.Sprintf("a pbft cluster needs at least %d peers, got %d", pbft.MinReplicas, len(m.Peers))
	}
	if err := craft.CheckRequestID(m.RequestID); err != nil {
		return messages.CodeInvalid, err.Error()
	}
	if _, dup := c.children[m.RequestID]; dup {
		return messages.CodeInvalid, "a cluster for this request exists"
	}
	seen := make(map[peer.ID]bool, len(m.Peers))
	for _, p := range m.Peers {
		if seen[p] {
			return messages.CodeInvalid, fmt.Sprintf("peer %s listed twice", p)
		}
		seen[p] = true
	}
	if !seen[c.cfg.Self] {
		return messages.CodeInvalid, "this worker is not among the peers"
	}
	return "", ""
}

func (c *clusters) answerForm(self *actor.PID, to peer.ID, m messages.MsgFormCluster, code messages.Code, msg string) {
	resp := m.Response(code)
	resp.Message = msg
	c.cfg.Tree.noteSent(self, resp, to, msg)
	c.cfg.Outbox.send(to, resp, nil)
}

func (c *clusters) disband(ctx actor.Context, from peer.ID, m messages.MsgDisbandCluster) {
	child, ok := c.children[m.RequestID]
	switch {
	case !ok:
		c.cfg.Log.Debug().Str("request", m.RequestID).Stringer("peer", from).Msg("disband for no cluster ignored")
	case child.head != from:
		// Request IDs are public (roll calls carry them); only the head that formed it may end it.
		c.cfg.Log.Warn().Str("request", m.RequestID).Stringer("peer", from).Msg("disband from a peer that is not the cluster's head dropped")
	default:
		ctx.Send(child.pid, &clusterDisband{})
	}
}

func (c *clusters) execute(ctx actor.Context, e *clusterExecute) {
	if child, ok := c.children[e.Msg.RequestID]; ok {
		ctx.Send(child.pid, e)
		return
	}
	// Spec §4.5: consensus without a cluster is "500".
	resp := refusal(c.cfg.Self, e.Msg, messages.CodeError, executor.ExitLoadFailure, "no cluster for this request")
	c.cfg.Tree.noteSent(ctx.Self(), resp, e.From, resp.Message)
	c.cfg.Outbox.send(e.From, resp, nil)
}

// Messages of a replica.
type (
	clusterDisband struct{}
	raftLeader     struct{ l craft.Leadership }
	raftApplied    struct{ e craft.LogEntry }
	raftApplyDone  struct{ err error }
	formTimedOut   struct{}
	clusterIdle    struct{}
)

// IgnoreDeadLetterLogging: raft's callbacks may fire while the replica is stopping.
func (raftLeader) IgnoreDeadLetterLogging()    {}
func (raftApplied) IgnoreDeadLetterLogging()   {}
func (raftApplyDone) IgnoreDeadLetterLogging() {}

// clusterMember is what every replica actor shares: its head, the MsgFormCluster it came from,
// and how it answers the head, notices the head's silence, fails and ends.
type clusterMember struct {
	cfg     clustersConfig
	head    peer.ID
	form    messages.MsgFormCluster
	log     zerolog.Logger
	timers  *scheduler.TimerScheduler
	idle    scheduler.CancelFunc // the head's silence
	outcome string               // why it ended, for the log and metrics
}

func newClusterMember(cfg clustersConfig, head peer.ID, m messages.MsgFormCluster) clusterMember {
	return clusterMember{cfg: cfg, head: head, form: m,
		log: cfg.Log.With().Str("request", m.RequestID).Str("consensus", m.Consensus.String()).Logger()}
}

func (c *clusterMember) consensus() string { return c.form.Consensus.String() }

// answer sends the head the formation's outcome.
func (c *clusterMember) answer(self *actor.PID, code messages.Code, msg string) {
	resp := c.form.Response(code)
	resp.Message = msg
	c.cfg.Tree.noteSent(self, resp, c.head, msg)
	c.cfg.Outbox.send(c.head, resp, nil)
}

// idleIn (re)arms the timer that removes the cluster if its head says nothing more.
func (c *clusterMember) idleIn(ctx actor.Context, d time.Duration) {
	if c.idle != nil {
		c.idle()
	}
	c.idle = c.timers.SendOnce(d, ctx.Self(), &clusterIdle{})
}

// fail answers the head with the failure and removes the replica.
func (c *clusterMember) fail(ctx actor.Context, reason, msg string) {
	c.outcome = reason
	c.cfg.Metrics.clustersFailed.WithLabelValues(c.consensus(), reason).Inc()
	c.log.Warn().Str("reason", reason).Msg(msg)
	c.answer(ctx.Self(), messages.CodeError, msg)
	ctx.Stop(ctx.Self())
}

// end handles the two ways a formed cluster ends, reporting whether msg was one of them.
func (c *clusterMember) end(ctx actor.Context, msg any) bool {
	switch msg.(type) {
	case *clusterIdle:
		c.outcome = "abandoned"
		c.cfg.Metrics.clustersFailed.WithLabelValues(c.consensus(), "abandoned").Inc()
		c.log.Warn().Stringer("head", c.head).Msg("cluster removed: its head sent nothing more")
	case *clusterDisband:
		c.outcome = "disbanded"
		c.cfg.Metrics.clustersDisbanded.WithLabelValues(c.consensus()).Inc()
	default:
		return false
	}
	ctx.Stop(ctx.Self())
	return true
}

// ended cancels the member's timer and logs how the cluster ended.
func (c *clusterMember) ended() {
	if c.idle != nil {
		c.idle()
	}
	c.log.Debug().Str("outcome", c.outcome).Msg("cluster ended")
}

// peerList is the cluster's peers as the inspector writes them.
func (c *clusterMember) peerList() string {
	peers := make([]string, len(c.form.Peers))
	for i, p := range c.form.Peers {
		peers[i] = shortPeer(p)
	}
	return strings.Join(peers, ",")
}

// raftReplica owns this node's replica of one request's Raft cluster (spec §5): it answers the
// head "200" once the cluster has a leader, appends the head's request when it leads (again
// after a change of leader, until the request is committed), hands the committed request to
// the work actor to run (each replica sends its own result to the head), and shuts the replica
// down on disband, on a failed formation, or when its head has gone silent.
type raftReplica struct {
	clusterMember
	rep       *craft.Replica
	formTimer scheduler.CancelFunc

	formed   bool
	leader   peer.ID
	term     uint64
	pending  *messages.MsgExecute // the head's request, until committed
	applying bool
	applied  bool
}

func newRaftReplica(cfg clustersConfig, head peer.ID, m messages.MsgFormCluster) actor.Producer {
	return func() actor.Actor { return &raftReplica{clusterMember: newClusterMember(cfg, head, m)} }
}

func (r *raftReplica) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.start(ctx)
	case *raftLeader:
		r.leaderChanged(ctx, m.l)
	case *clusterExecute:
		r.execute(ctx, m)
	case *raftApplyDone:
		r.applying = false
		if m.err != nil && !r.applied {
			// Leadership moved before the entry committed: the next leader appends it again.
			r.log.Debug().Err(m.err).Msg("raft apply did not commit here")
		}
	case *raftApplied:
		r.run(ctx, m.e)
	case *formTimedOut:
		if !r.formed {
			r.fail(ctx, "no_leader", fmt.Sprintf("the cluster found no leader within %v", r.cfg.FormTimeout))
		}
	case *clusterIdle, *clusterDisband:
		r.end(ctx, m)
	case *actor.Stopping:
		r.stop()
		return
	default:
		return
	}
	r.cfg.Tree.setBehaviour(ctx.Self(), r.describe())
}

func (r *raftReplica) start(ctx actor.Context) {
	r.timers = scheduler.NewTimerScheduler(ctx)
	self, root := ctx.Self(), ctx.ActorSystem().Root
	rep, err := craft.Start(r.cfg.Raft, r.cfg.Mux, r.form.RequestID, r.form.Peers, craft.Events{
		Applied: func(e craft.LogEntry) { root.Send(self, &raftApplied{e: e}) },
		Leader:  func(l craft.Leadership) { root.Send(self, &raftLeader{l: l}) },
	}, r.log)
	if err != nil {
		r.fail(ctx, "start", "could not start the replica: "+err.Error())
		return
	}
	r.rep = rep
	r.formTimer = r.timers.SendOnce(r.cfg.FormTimeout, self, &formTimedOut{})
}

func (r *raftReplica) leaderChanged(ctx actor.Context, l craft.Leadership) {
	r.leader, r.term = l.Leader, l.Term
	if l.Leader == "" {
		return
	}
	if !r.formed {
		r.formed = true
		r.cfg.Metrics.clustersFormed.WithLabelValues("raft").Inc()
		r.log.Debug().Stringer("leader", l.Leader).Uint64("term", l.Term).Msg("cluster formed")
		r.formTimer()
		r.answer(ctx.Self(), messages.CodeOK, "")
		r.idleIn(ctx, r.cfg.AbandonAfter)
	}
	r.applyIfLeader(ctx)
}

func (r *raftReplica) execute(ctx actor.Context, e *clusterExecute) {
	if e.From != r.head {
		r.log.Warn().Stringer("peer", e.From).Msg("execute for this cluster from a peer that is not its head dropped")
		return
	}
	if r.pending != nil || r.applied {
		r.log.Debug().Msg("execute repeated: the cluster already has the request")
		return
	}
	msg := e.Msg
	r.pending = &msg
	// The head waits for results until the request's own deadline; silence after that means
	// the head is gone.
	_, run := requestTimeouts(msg.Config, 0, r.cfg.ExecutionTimeout)
	r.idleIn(ctx, run+r.cfg.AbandonAfter)
	r.applyIfLeader(ctx)
	// A follower answers nothing (spec §4.5: "204"); its result comes when the entry commits.
}

// applyIfLeader appends the pending request when this replica leads and it is not committed.
func (r *raftReplica) applyIfLeader(ctx actor.Context) {
	if r.pending == nil || r.applied || r.applying || r.rep == nil || r.leader != r.cfg.Self {
		return
	}
	r.applying = true
	entry := craft.LogEntry{RequestID: r.pending.RequestID, Origin: r.head, Execute: r.pending.Request}
	_, timeout := requestTimeouts(r.pending.Config, 0, r.cfg.ExecutionTimeout)
	self, root, rep := ctx.Self(), ctx.ActorSystem().Root, r.rep
	go func() { root.Send(self, &raftApplyDone{err: rep.Apply(entry, timeout)}) }()
}

// run hands the committed request to the work actor, which runs it and sends this node's
// result to the entry's origin (every replica does: spec §5).
func (r *raftReplica) run(ctx actor.Context, e craft.LogEntry) {
	r.applied = true
	r.pending = nil
	if e.Origin == "" {
		r.log.Warn().Msg("committed request names no origin: nobody to send the result to")
		return
	}
	msg := messages.MsgExecute{Request: e.Execute, RequestID: e.RequestID, Timestamp: time.Now().UTC()}
	ctx.Send(r.cfg.Work, &runCommitted{Origin: e.Origin, Msg: msg})
}

func (r *raftReplica) stop() {
	if r.formTimer != nil {
		r.formTimer()
	}
	if r.rep != nil {
		if err := r.rep.Shutdown(); err != nil {
			r.log.Debug().Err(err).Msg("raft shutdown")
		}
		r.rep = nil // a stopped actor may stay referenced for a while (its mailbox's last run)
	}
	r.ended()
}

// describe is the replica's line in /debug/actors: phase, Raft state, term, leader and peers.
func (r *raftReplica) describe() string {
	phase := "forming"
	switch {
	case r.applied:
		phase = "committed"
	case r.pending != nil:
		phase = "executing"
	case r.formed:
		phase = "formed"
	}
	state, term := "starting", r.term
	if r.rep != nil {
		state, term = r.rep.State()
	}
	leader := "none"
	if r.leader != "" {
		leader = shortPeer(r.leader)
	}
	return fmt.Sprintf("%s · %s term %d · leader %s · peers %s", phase, strings.ToLower(state), term, leader, r.peerList())
}

// shortPeer is the last 6 characters of a peer ID, enough to tell a cluster's peers apart.
func shortPeer(p peer.ID) string {
	s := p.String()
	if len(s) > 6 {
		return "…" + s[len(s)-6:]
	}
	return s
}
