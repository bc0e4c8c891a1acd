package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/google/uuid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/actors/request"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// requestsConfig configures a head's requests actor and its per-request supervisors.
type requestsConfig struct {
	Self             peer.ID
	Host             Host // who is connected (roll-call answers count only from live peers)
	Outbox           *outbox
	Results          *resultCache
	RollCallTimeout  time.Duration  // when the request sets no timeout
	ExecutionTimeout time.Duration  // when the request sets no timeout
	SettleWindow     time.Duration  // number_of_nodes unset: how long to keep listening after the first answer
	FormTimeout      time.Duration  // consensus: how long the chosen workers have to form a cluster
	Key              crypto.PrivKey // signs PBFT requests (spec §4.3 step 4); nil: PBFT is refused
	Tree             *tree
	Metrics          *nodeMetrics
	Log              zerolog.Logger
	Drain            *drainState       // draining: peers' MsgExecute is refused with "503"
	Tracing          *tracing.Provider // nil: off
}

// startRequest asks the requests actor to run a request. The outcome (*requestDone) is sent
// to ReplyTo, or to the sender when ReplyTo is nil; a request from a peer (Client set) is
// answered over libp2p instead.
type startRequest struct {
	RequestID string // "" for a fresh UUID
	Request   messages.Request
	Topic     string
	// For MsgExecute from a peer: who asked, and the request_id they gave (spec §4.2).
	Client          peer.ID
	ClientRequestID string
	ReplyTo         *actor.PID
	// Carrier is the trace context the request continues (a REST client's, a peer's
	// MsgExecute); nil starts a new trace when tracing is on.
	Carrier map[string]string
}

// requestDone is the outcome of a request.
type requestDone struct {
	Response messages.MsgExecuteResponse
}

// cancelRequest ends a request early (its REST client went away).
type cancelRequest struct {
	RequestID string
	Reason    string
}

// requests is the head's side of execution: it spawns one headRequest per request and routes
// workers' replies to it by request ID.
type requests struct {
	cfg      requestsConfig
	children map[string]*actor.PID // request ID -> supervisor
	byPID    map[string]string
	waiters  drainWaiters
}

func newRequests(cfg requestsConfig) actor.Producer {
	return func() actor.Actor { return &requests{cfg: cfg} }
}

// Receive implements actor.Actor.
func (r *requests) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.children = make(map[string]*actor.PID)
		r.byPID = make(map[string]string)
	case *startRequest:
		if m.ReplyTo == nil {
			m.ReplyTo = ctx.Sender()
		}
		r.start(ctx, m)
	case *cancelRequest:
		if pid, ok := r.children[m.RequestID]; ok {
			ctx.Send(pid, m)
		}
	case *delivery:
		r.deliver(ctx, m)
	case *actor.Terminated:
		if id, ok := r.byPID[m.Who.Id]; ok {
			delete(r.byPID, m.Who.Id)
			delete(r.children, id)
		}
		r.waiters.notify(ctx, len(r.children) == 0)
	case *drainWait:
		r.waiters.add(ctx, len(r.children) == 0)
	}
}

func (r *requests) deliver(ctx actor.Context, d *delivery) {
	var id string
	switch m := d.Message.(type) {
	case messages.MsgExecute:
		// A client asks over libp2p; the head answers it with the client's own request_id.
		if r.cfg.Drain.active() {
			r.cfg.Outbox.send(d.From, refuseDraining(m), nil)
			return
		}
		r.start(ctx, &startRequest{Request: m.Request, Topic: m.Topic, Client: d.From, ClientRequestID: m.RequestID, Carrier: m.Carrier})
		return
	case messages.MsgRollCallResponse:
		id = m.RequestID
	case messages.MsgExecuteResponse:
		id = m.RequestID
	case messages.MsgFormClusterResponse:
		id = m.RequestID
	default:
		return
	}
	if pid, ok := r.children[id]; ok {
		ctx.Send(pid, d)
		return
	}
	r.cfg.Log.Debug().Str("request", id).Str("type", d.Message.Type()).Stringer("peer", d.From).Msg("reply for no open request ignored")
}

func (r *requests) start(ctx actor.Context, s *startRequest) {
	if s.RequestID == "" {
		s.RequestID = uuid.NewString()
	}
	if _, dup := r.children[s.RequestID]; dup {
		r.cfg.Log.Warn().Str("request", s.RequestID).Msg("request ID already running; ignored")
		return
	}
	pid, err := ctx.SpawnNamed(r.cfg.Tree.props("request", newHeadRequest(r.cfg, s)), s.RequestID)
	if err != nil {
		r.cfg.Log.Error().Err(err).Str("request", s.RequestID).Msg("spawn request supervisor")
		return
	}
	r.children[s.RequestID] = pid
	r.byPID[pid.Id] = s.RequestID
}

// headRequest supervises one request on the head: it drives the request's state machine
// (package request) with messages and time, and carries out what it decides.
type headRequest struct {
	cfg      requestsConfig
	req      *startRequest
	m        *request.Machine
	timers   *scheduler.TimerScheduler
	cancel   scheduler.CancelFunc
	log      zerolog.Logger
	started  time.Time
	finished bool
	trace    requestSpan // HeadExecute; its carrier goes out with the roll call and MsgExecute
}

type (
	requestTick       struct{}
	requestSendFailed struct {
		to  peer.ID
		err error
	}
)

func newHeadRequest(cfg requestsConfig, req *startRequest) actor.Producer {
	return func() actor.Actor {
		return &headRequest{cfg: cfg, req: req,
			log: cfg.Log.With().Str("request", req.RequestID).Str("function", req.Request.FunctionID).Logger()}
	}
}

func (s *headRequest) params() request.Params {
	c := s.req.Request.Config
	rollCall, exec := requestTimeouts(c, s.cfg.RollCallTimeout, s.cfg.ExecutionTimeout)
	consensus, _ := c.Consensus() // checked in Started
	return request.Params{
		Consensus:        consensus,
		FormTimeout:      s.cfg.FormTimeout,
		RequestID:        s.req.RequestID,
		FunctionID:       s.req.Request.FunctionID,
		NodeCount:        c.NodeCount(),
		Threshold:        c.Threshold(),
		RollCallTimeout:  rollCall,
		SettleWindow:     s.cfg.SettleWindow,
		ExecutionTimeout: exec,
		Attributes:       c.Attributes,
	}
}

func (s *headRequest) Receive(ctx actor.Context) {
	now := time.Now()
	var effects []request.Effect
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.started = now
		s.timers = scheduler.NewTimerScheduler(ctx)
		if s.cfg.Tracing.Enabled() {
			s.trace.start(s.cfg.Tracing, tracing.SpanHeadExecute, trace.SpanKindClient, s.req.Carrier,
				requestAttributes(s.req.RequestID, s.req.Request))
		}
		if c, err := s.req.Request.Config.Consensus(); err != nil {
			s.finish(ctx, messages.MsgExecuteResponse{RequestID: s.req.RequestID, Code: messages.CodeInvalid, Message: err.Error()})
			return
		} else if c == messages.ConsensusPBFT && s.cfg.Key == nil {
			s.finish(ctx, messages.MsgExecuteResponse{RequestID: s.req.RequestID, Code: messages.CodeNotImplemented,
				Message: "this head has no key to sign pbft requests with"})
			return
		}
		p := s.params()
		if err := p.Validate(); err != nil {
			s.finish(ctx, messages.MsgExecuteResponse{RequestID: s.req.RequestID, Code: messages.CodeInvalid, Message: err.Error()})
			return
		}
		s.m, effects = request.Start(p, now)
	case *actor.Stopping:
		if s.m != nil {
			// A panic or the node stopping: the workers still leave the cluster.
			if peers := s.m.ClusterPeers(); len(peers) > 0 {
				s.sendDisband(ctx.Self(), peers)
			}
		}
		if !s.finished {
			// A panic (per-request actors are stopped, not restarted) or the node stopping:
			// the requester still gets exactly one answer.
			s.finish(ctx, messages.MsgExecuteResponse{RequestID: s.req.RequestID, Code: messages.CodeError,
				Message: "the request was stopped before it finished"})
		}
		return
	case requestTick:
		effects = s.m.Step(request.Tick{}, now)
	case requestSendFailed:
		effects = s.m.Step(request.SendFailed{To: m.to, Err: m.err}, now)
	case *cancelRequest:
		effects = s.m.Step(request.Cancel{Reason: m.Reason}, now)
	case *delivery:
		effects = s.onReply(m, now)
	default:
		return
	}
	s.apply(ctx, effects, now)
	if s.m != nil {
		s.cfg.Tree.setBehaviour(ctx.Self(), s.m.Phase().String())
	}
}

func (s *headRequest) onReply(d *delivery, now time.Time) []request.Effect {
	switch m := d.Message.(type) {
	case messages.MsgRollCallResponse:
		if !s.cfg.Host.Connected(d.From) {
			return nil // spec §4.3: only live peers count
		}
		return s.m.Step(request.RollCallAnswer{From: d.From, Code: m.Code, FunctionID: m.FunctionID}, now)
	case messages.MsgExecuteResponse:
		res, ok := m.Results[d.From]
		if s.m.Params().Consensus == messages.ConsensusPBFT {
			// Spec §4.3 step 6: only a result its sender signed counts, nor one that claims
			// another replica.
			if err := pbftResultValid(d.From, res, ok); err != nil {
				s.log.Warn().Err(err).Stringer("peer", d.From).Msg("pbft result not counted")
				return nil
			}
		}
		if !ok {
			// A refusal (404 not installed, 503 busy…) carries no result; it still means this
			// worker will not answer, so record its code instead of waiting out the deadline.
			res = messages.NodeResult{ExecutionResult: messages.ExecutionResult{Code: m.Code}}
		}
		return s.m.Step(request.WorkerResult{From: d.From, Result: res}, now)
	case messages.MsgFormClusterResponse:
		return s.m.Step(request.ClusterFormed{From: d.From, Code: m.Code, Message: m.Message}, now)
	}
	return nil
}

func (s *headRequest) apply(ctx actor.Context, effects []request.Effect, now time.Time) {
	for _, eff := range effects {
		switch e := eff.(type) {
		case request.PublishRollCall:
			s.publishRollCall(ctx.Self())
		case request.Deadline:
			if s.cancel != nil {
				s.cancel()
			}
			s.cancel = s.timers.SendOnce(max(e.At.Sub(now), 0), ctx.Self(), requestTick{})
		case request.SendExecute:
			s.sendExecute(ctx, e.To, now)
		case request.SendFormCluster:
			s.sendFormCluster(ctx, e.To)
		case request.SendDisband:
			s.sendDisband(ctx.Self(), e.To)
		case request.Finish:
			s.finish(ctx, e.Response)
		}
	}
}

func (s *headRequest) publishRollCall(self *actor.PID) {
	topic := s.req.Topic
	if topic == "" {
		topic = p2p.DefaultTopic
	}
	rc := messages.MsgRollCall{
		Origin:     s.cfg.Self,
		FunctionID: s.req.Request.FunctionID,
		RequestID:  s.req.RequestID,
		Consensus:  s.m.Params().Consensus,
		Attributes: s.req.Request.Config.Attributes,
	}
	rc.Carrier = s.trace.carrier
	s.cfg.Metrics.rollCallsPublished.WithLabelValues(s.cfg.Metrics.functions.value(rc.FunctionID)).Inc()
	s.cfg.Tree.noteSent(self, rc, "", "topic "+topic)
	s.cfg.Outbox.publish(topic, rc, nil)
}

// pbftResultValid checks a PBFT worker's result: present, about itself, signed with its key.
func pbftResultValid(from peer.ID, res messages.NodeResult, present bool) error {
	if !present {
		return errors.New("no result of its own")
	}
	if res.PBFT.Replica != from {
		return fmt.Errorf("the result names replica %q", res.PBFT.Replica)
	}
	key, err := from.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("the sender's key: %w", err)
	}
	return res.VerifySignature(key)
}

func (s *headRequest) sendExecute(ctx actor.Context, to []peer.ID, now time.Time) {
	msg := messages.MsgExecute{Request: s.req.Request, RequestID: s.req.RequestID, Timestamp: now.UTC()}
	if s.m.Params().Consensus == messages.ConsensusPBFT {
		// Replicas take only a request the head signed (spec §6).
		if err := msg.Request.Sign(s.cfg.Key); err != nil {
			s.log.Error().Err(err).Msg("sign pbft request")
		}
	}
	msg.Carrier = s.trace.carrier
	s.sendEach(ctx, to, msg)
}

// sendEach sends msg to each of to; a send that fails comes back as requestSendFailed.
func (s *headRequest) sendEach(ctx actor.Context, to []peer.ID, msg messages.Message) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	for _, p := range to {
		s.cfg.Tree.noteSent(self, msg, p, "")
	}
	s.cfg.Outbox.sendEach(to, msg, func(p peer.ID, err error) {
		if err != nil {
			root.Send(self, requestSendFailed{to: p, err: err})
		}
	})
}

// sendFormCluster asks the chosen workers to form the request's cluster, in the order they
// answered (the first one starts the first election), with the addresses this head knows of
// each, so that workers not yet connected to each other can connect (spec §4.6).
func (s *headRequest) sendFormCluster(ctx actor.Context, to []peer.ID) {
	msg := messages.MsgFormCluster{RequestID: s.req.RequestID, Peers: to, Consensus: s.m.Params().Consensus}
	for _, p := range to {
		if info := s.cfg.Host.AddrInfo(p); len(info.Addrs) > 0 {
			msg.ConnectionInfo = append(msg.ConnectionInfo, info)
		}
	}
	msg.Carrier = s.trace.carrier
	s.sendEach(ctx, to, msg)
}

// sendDisband tells the workers to leave the request's cluster. Nothing waits for it: a
// worker that misses it drops the cluster when its head goes silent (ClusterConfig.AbandonAfter).
func (s *headRequest) sendDisband(self *actor.PID, to []peer.ID) {
	msg := messages.MsgDisbandCluster{RequestID: s.req.RequestID}
	msg.Carrier = s.trace.carrier
	for _, p := range to {
		s.cfg.Tree.noteSent(self, msg, p, "")
	}
	s.cfg.Outbox.sendEach(to, msg, nil)
}

func (s *headRequest) finish(ctx actor.Context, resp messages.MsgExecuteResponse) {
	s.finished = true
	if s.cancel != nil {
		s.cancel()
	}
	if len(resp.Results) > 0 {
		s.cfg.Results.put(s.req.RequestID, resp.Results) // nothing to look up otherwise: 404
	}
	ev := s.log.Debug()
	if resp.Code != messages.CodeOK {
		ev = s.log.Info().Str("message", resp.Message)
	}
	ev.Str("code", string(resp.Code)).Int("results", len(resp.Results)).Dur("took", time.Since(s.started)).Msg("request finished")
	s.trace.end(resp.Code, resp.Message)
	if s.req.Client != "" {
		out := resp
		out.RequestID = s.req.ClientRequestID
		out.Carrier = s.trace.carrier
		s.cfg.Tree.noteSent(ctx.Self(), out, s.req.Client, "answer to the client")
		s.cfg.Outbox.send(s.req.Client, out, nil)
	} else if s.req.ReplyTo != nil {
		s.cfg.Tree.note(ctx.Self(), inspect.Label{Type: "answer", Request: s.req.RequestID,
			Detail: fmt.Sprintf("code %s, %d results", resp.Code, len(resp.Results))})
		ctx.Send(s.req.ReplyTo, &requestDone{Response: resp})
	}
	ctx.Stop(ctx.Self())
}
