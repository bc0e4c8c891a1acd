package actors

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/consensus/pbft"
	"github.com/b7s-actor/b7s/messages"
)

// ByzantineEnv is spec §6's test hook: set to y, yes, true or 1, a worker's PBFT replicas
// ignore every PBFT message (a silent replica, for tests of faults). Off unless set.
const ByzantineEnv = "B7S_PBFT_BYZANTINE"

// ByzantineFromEnv reads ByzantineEnv: a silence that is on for the node's life when the
// variable is set, nil (never silent) when it is not.
func ByzantineFromEnv() func() bool {
	switch strings.ToLower(os.Getenv(ByzantineEnv)) {
	case "y", "yes", "true", "1":
		return func() bool { return true }
	}
	return nil
}

// pbftSendTimeout bounds one PBFT send (spec §6: 5 s).
const pbftSendTimeout = 5 * time.Second

// Messages of a PBFT replica.
type (
	pbftReceived struct {
		from peer.ID
		msg  pbft.Message
	}
	pbftTimer struct{}
)

func (pbftReceived) IgnoreDeadLetterLogging() {}

// pbftReplica owns this node's replica of one request's PBFT cluster (spec §6): the protocol
// handler of the cluster, the pure replica (consensus/pbft) it feeds, and what the replica
// decides: broadcasts, the request timer (a scheduled message), and the executions, which the
// work actor runs and answers with a signed result to the head.
type pbftReplica struct {
	clusterMember
	mux   *pbft.Mux
	core  *pbft.Replica
	net   *pbft.Net
	timer scheduler.CancelFunc // the request timer
	got   bool                 // the head's request arrived
	ran   bool
}

func newPBFTReplica(cfg clustersConfig, mux *pbft.Mux, head peer.ID, m messages.MsgFormCluster) actor.Producer {
	return func() actor.Actor { return &pbftReplica{clusterMember: newClusterMember(cfg, head, m), mux: mux} }
}

func (r *pbftReplica) Receive(ctx actor.Context) {
	now := time.Now()
	switch ctx.Message().(type) {
	case *pbftReceived, *pbftTimer, *clusterExecute:
		if r.core == nil {
			return // the replica failed to start, or is stopping
		}
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.start(ctx)
	case *pbftReceived:
		r.step(ctx, pbft.Receive{From: m.from, Msg: m.msg}, now)
	case *pbftTimer:
		r.timer = nil
		r.step(ctx, pbft.Timeout{}, now)
	case *clusterExecute:
		r.execute(ctx, m, now)
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

func (r *pbftReplica) start(ctx actor.Context) {
	r.timers = scheduler.NewTimerScheduler(ctx)
	core, err := pbft.NewReplica(pbft.Config{Self: r.cfg.Self, Peers: r.form.Peers, RequestTimeout: r.cfg.PBFTRequestTimeout,
		Sign: pbft.KeySigner(r.cfg.Key), Verify: pbft.PeerVerifier}) // a nil Key is refused before a replica starts
	if err != nil {
		r.fail(ctx, "start", "could not start the replica: "+err.Error())
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	r.net, err = r.mux.Listen(r.form.RequestID, r.form.Peers,
		pbft.NetConfig{SendTimeout: pbftSendTimeout, MaxMessage: messages.DefaultDirectMessageLimit, Silent: r.cfg.PBFTSilent},
		func(from peer.ID, m pbft.Message) { root.Send(self, &pbftReceived{from: from, msg: m}) },
		func(from peer.ID, reason string, err error) {
			r.cfg.Metrics.pbftDropped.WithLabelValues("", reason).Inc()
			r.log.Debug().Stringer("peer", from).Str("reason", reason).AnErr("error", err).Msg("pbft message dropped")
		})
	if err != nil {
		r.fail(ctx, "start", "could not start the replica: "+err.Error())
		return
	}
	r.core = core
	// Spec §4.6: a PBFT replica is ready once it exists; there is no leader to wait for.
	r.cfg.Metrics.clustersFormed.WithLabelValues("pbft").Inc()
	r.answer(self, messages.CodeOK, "")
	r.idleIn(ctx, r.cfg.AbandonAfter)
}

// execute takes the head's MsgExecute: its request must carry the head's signature (spec §6).
// A backup answers nothing ("204"); every replica sends its result once the request executes.
func (r *pbftReplica) execute(ctx actor.Context, e *clusterExecute, now time.Time) {
	if e.From != r.head {
		r.log.Warn().Stringer("peer", e.From).Msg("execute for this cluster from a peer that is not its head dropped")
		return
	}
	key, err := r.head.ExtractPublicKey()
	if err == nil {
		err = e.Msg.Request.VerifySignature(key)
	}
	if err != nil {
		r.cfg.Metrics.pbftDropped.WithLabelValues(pbft.TypeRequest.String(), "bad_signature").Inc()
		r.log.Warn().Err(err).Msg("pbft request without the head's signature dropped")
		return
	}
	r.got = true
	_, run := requestTimeouts(e.Msg.Config, 0, r.cfg.ExecutionTimeout)
	r.idleIn(ctx, run+r.cfg.AbandonAfter)
	req := pbft.Request{ID: e.Msg.RequestID, Timestamp: e.Msg.Timestamp, Origin: r.head, Execute: e.Msg.Request}
	r.step(ctx, pbft.ClientRequest{Request: req}, now)
}

// step feeds the replica one input and carries out what it decides.
func (r *pbftReplica) step(ctx actor.Context, in pbft.Input, now time.Time) {
	view := r.core.View()
	r.apply(ctx, r.core.Step(in, now), now)
	if v := r.core.View(); v > view {
		r.cfg.Metrics.pbftViewChanges.Add(float64(v - view))
		r.log.Info().Uint("view", v).Stringer("primary", r.core.Primary()).Msg("pbft view change")
	}
}

func (r *pbftReplica) apply(ctx actor.Context, effects []pbft.Effect, now time.Time) {
	for _, eff := range effects {
		switch e := eff.(type) {
		case pbft.Broadcast:
			r.net.Broadcast(e.Msg, func(to peer.ID, err error) {
				r.log.Debug().Err(err).Stringer("peer", to).Str("type", e.Msg.Type().String()).Msg("pbft send failed")
			})
		case pbft.Execute:
			r.run(ctx, e)
		case pbft.SetTimer:
			if r.timer != nil {
				r.timer()
			}
			r.timer = r.timers.SendOnce(max(e.At.Sub(now), 0), ctx.Self(), &pbftTimer{})
		case pbft.StopTimer:
			if r.timer != nil {
				r.timer()
				r.timer = nil
			}
		case pbft.Drop:
			r.cfg.Metrics.pbftDropped.WithLabelValues(e.Type.String(), e.Reason).Inc()
			r.log.Debug().Stringer("peer", e.From).Str("type", e.Type.String()).Str("reason", e.Reason).Msg("pbft message dropped")
		}
	}
}

// run hands an executed request to the work actor, which signs this node's result with its
// PBFT details and sends it to the request's origin.
func (r *pbftReplica) run(ctx actor.Context, e pbft.Execute) {
	// The protocol orders whatever the primary proposed: run only what this cluster's head
	// asked for and signed, or a faulty primary could have a request executed that no head sent.
	key, err := r.head.ExtractPublicKey()
	if err == nil && e.Request.Origin != r.head {
		err = fmt.Errorf("the request names origin %s, not the cluster's head", e.Request.Origin)
	}
	if err == nil {
		err = e.Request.Execute.VerifySignature(key)
	}
	if err != nil {
		r.cfg.Metrics.pbftDropped.WithLabelValues(pbft.TypeRequest.String(), "not_the_heads").Inc()
		r.log.Warn().Err(err).Uint("sequence", e.Sequence).Msg("ordered request not run: not its head's")
		return
	}
	r.ran = true
	msg := messages.MsgExecute{Request: e.Request.Execute, RequestID: e.Request.ID, Timestamp: e.Request.Timestamp}
	ctx.Send(r.cfg.Work, &runCommitted{Origin: e.Request.Origin, Msg: msg,
		PBFT: &messages.PBFTResultInfo{View: e.View, RequestTimestamp: e.Request.Timestamp, Replica: r.cfg.Self}})
}

func (r *pbftReplica) stop() {
	if r.timer != nil {
		r.timer()
	}
	if r.net != nil {
		r.net.Close()
		r.net = nil
	}
	r.core = nil
	r.ended()
}

// describe is the replica's line in /debug/actors: phase, view, primary, last executed, peers.
func (r *pbftReplica) describe() string {
	phase := "formed"
	switch {
	case r.ran:
		phase = "executed"
	case r.got:
		phase = "ordering"
	}
	if r.core == nil {
		return phase
	}
	state := "view"
	if !r.core.Active() {
		state = "view change to"
	}
	return fmt.Sprintf("%s · %s %d · primary %s · executed %d · peers %s", phase, state, r.core.View(),
		shortPeer(r.core.Primary()), r.core.LastExecuted(), r.peerList())
}
