package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/google/uuid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/execution"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// ExecutionsConfig configures a head's executions actor and its per-request supervisors.
type ExecutionsConfig struct {
	Self             peer.ID
	Network          Network // who is connected (roll-call answers count only from live peers)
	Outbox           *Outbox
	Results          *ResultCache
	RollCallTimeout  time.Duration // when the request sets no timeout
	ExecutionTimeout time.Duration // when the request sets no timeout
	SettleWindow     time.Duration // number_of_nodes unset: how long to keep listening after the first answer
	Inspect          *inspect.Registry
	Metrics          *Metrics
	Log              zerolog.Logger
}

// StartRequest asks the executions actor to run a request. The outcome (*RequestDone) is sent
// to ReplyTo, or to the sender when ReplyTo is nil; a request from a peer (Client set) is
// answered over libp2p instead.
type StartRequest struct {
	RequestID string // "" for a fresh UUID
	Request   messages.Request
	Topic     string
	// For MsgExecute from a peer: who asked, and the request_id they gave (spec §4.2).
	Client          peer.ID
	ClientRequestID string
	ReplyTo         *actor.PID
}

// RequestDone is the outcome of a request.
type RequestDone struct {
	Response messages.MsgExecuteResponse
}

// CancelRequest ends a request early (its REST client went away).
type CancelRequest struct {
	RequestID string
	Reason    string
}

// Executions spawns one supervisor per request and routes replies to it by request ID.
type Executions struct {
	cfg      ExecutionsConfig
	children map[string]*actor.PID // request ID -> supervisor
	byPID    map[string]string
}

// NewExecutions returns a producer for the executions actor.
func NewExecutions(cfg ExecutionsConfig) actor.Producer {
	return func() actor.Actor { return &Executions{cfg: cfg} }
}

// Receive implements actor.Actor.
func (e *Executions) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		e.children = make(map[string]*actor.PID)
		e.byPID = make(map[string]string)
	case *StartRequest:
		if m.ReplyTo == nil {
			m.ReplyTo = ctx.Sender()
		}
		e.start(ctx, m)
	case *CancelRequest:
		if pid, ok := e.children[m.RequestID]; ok {
			ctx.Send(pid, m)
		}
	case *Delivery:
		e.deliver(ctx, m)
	case *actor.Terminated:
		if id, ok := e.byPID[m.Who.Id]; ok {
			delete(e.byPID, m.Who.Id)
			delete(e.children, id)
		}
	}
}

func (e *Executions) deliver(ctx actor.Context, d *Delivery) {
	var id string
	switch m := d.Message.(type) {
	case messages.MsgExecute:
		// A client asks over libp2p; the head answers it with the client's own request_id.
		e.start(ctx, &StartRequest{Request: m.Request, Topic: m.Topic, Client: d.From, ClientRequestID: m.RequestID})
		return
	case messages.MsgRollCallResponse:
		id = m.RequestID
	case messages.MsgExecuteResponse:
		id = m.RequestID
	default:
		return
	}
	if pid, ok := e.children[id]; ok {
		ctx.Send(pid, d)
		return
	}
	e.cfg.Log.Debug().Str("request", id).Str("type", d.Message.Type()).Stringer("peer", d.From).Msg("reply for no open request ignored")
}

func (e *Executions) start(ctx actor.Context, s *StartRequest) {
	if s.RequestID == "" {
		s.RequestID = uuid.NewString()
	}
	if _, dup := e.children[s.RequestID]; dup {
		e.cfg.Log.Warn().Str("request", s.RequestID).Msg("request ID already running; ignored")
		return
	}
	pid, err := ctx.SpawnNamed(e.cfg.Inspect.Props("request", newRequestSupervisor(e.cfg, s)), s.RequestID)
	if err != nil {
		e.cfg.Log.Error().Err(err).Str("request", s.RequestID).Msg("spawn request supervisor")
		return
	}
	e.children[s.RequestID] = pid
	e.byPID[pid.Id] = s.RequestID
}

// requestSupervisor drives one request's state machine (package execution) with messages and
// time, and carries out what it decides.
type requestSupervisor struct {
	cfg      ExecutionsConfig
	req      *StartRequest
	m        *execution.Machine
	timers   *scheduler.TimerScheduler
	cancel   scheduler.CancelFunc
	log      zerolog.Logger
	started  time.Time
	finished bool
}

type (
	requestTick       struct{}
	requestSendFailed struct {
		to  peer.ID
		err error
	}
)

func newRequestSupervisor(cfg ExecutionsConfig, req *StartRequest) actor.Producer {
	return func() actor.Actor {
		return &requestSupervisor{cfg: cfg, req: req,
			log: cfg.Log.With().Str("request", req.RequestID).Str("function", req.Request.FunctionID).Logger()}
	}
}

func (s *requestSupervisor) params() execution.Params {
	c := s.req.Request.Config
	rollCall, exec := s.cfg.RollCallTimeout, s.cfg.ExecutionTimeout
	if c.Timeout > 0 {
		rollCall = time.Duration(c.Timeout) * time.Second
		exec = rollCall
	}
	return execution.Params{
		RequestID:        s.req.RequestID,
		FunctionID:       s.req.Request.FunctionID,
		NodeCount:        c.NodeCount(),
		Threshold:        c.Threshold(),
		RollCallTimeout:  rollCall,
		SettleWindow:     s.cfg.SettleWindow,
		ExecutionTimeout: exec,
	}
}

func (s *requestSupervisor) Receive(ctx actor.Context) {
	now := time.Now()
	var effects []execution.Effect
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.started = now
		s.timers = scheduler.NewTimerScheduler(ctx)
		p := s.params()
		if err := p.Validate(); err != nil {
			s.finish(ctx, messages.MsgExecuteResponse{RequestID: s.req.RequestID, Code: messages.CodeInvalid, Message: err.Error()})
			return
		}
		if c, _ := s.req.Request.Config.Consensus(); c != messages.ConsensusNone {
			// Until this head can form clusters, a consensus request could only come back as
			// every worker's "500"; say so instead.
			s.finish(ctx, messages.MsgExecuteResponse{RequestID: s.req.RequestID, Code: messages.CodeNotImplemented,
				Message: fmt.Sprintf("%s consensus is not supported by this head yet", c)})
			return
		}
		s.m, effects = execution.Start(p, now)
	case *actor.Stopping:
		if !s.finished {
			// A panic (per-request actors are stopped, not restarted) or the node stopping:
			// the requester still gets exactly one answer.
			s.finish(ctx, messages.MsgExecuteResponse{RequestID: s.req.RequestID, Code: messages.CodeError,
				Message: "the request was stopped before it finished"})
		}
		return
	case requestTick:
		effects = s.m.Step(execution.Tick{}, now)
	case requestSendFailed:
		effects = s.m.Step(execution.SendFailed{To: m.to, Err: m.err}, now)
	case *CancelRequest:
		effects = s.m.Step(execution.Cancel{Reason: m.Reason}, now)
	case *Delivery:
		effects = s.onReply(m, now)
	default:
		return
	}
	s.apply(ctx, effects, now)
	if s.m != nil {
		s.cfg.Inspect.SetBehaviour(ctx.Self(), s.m.Phase().String())
	}
}

func (s *requestSupervisor) onReply(d *Delivery, now time.Time) []execution.Effect {
	switch m := d.Message.(type) {
	case messages.MsgRollCallResponse:
		if !s.cfg.Network.Connected(d.From) {
			return nil // spec §4.3: only live peers count
		}
		return s.m.Step(execution.RollCallAnswer{From: d.From, Code: m.Code, FunctionID: m.FunctionID}, now)
	case messages.MsgExecuteResponse:
		res, ok := m.Results[d.From]
		if !ok {
			// A refusal (404 not installed, 503 busy…) carries no result; it still means this
			// worker will not answer, so record its code instead of waiting out the deadline.
			res = messages.NodeResult{ExecutionResult: messages.ExecutionResult{Code: m.Code}}
		}
		return s.m.Step(execution.ExecutionResult{From: d.From, Result: res}, now)
	}
	return nil
}

func (s *requestSupervisor) apply(ctx actor.Context, effects []execution.Effect, now time.Time) {
	for _, eff := range effects {
		switch e := eff.(type) {
		case execution.PublishRollCall:
			s.publishRollCall()
		case execution.Deadline:
			if s.cancel != nil {
				s.cancel()
			}
			s.cancel = s.timers.SendOnce(max(e.At.Sub(now), 0), ctx.Self(), requestTick{})
		case execution.SendExecute:
			s.sendExecute(ctx, e.To, now)
		case execution.Finish:
			s.finish(ctx, e.Response)
		}
	}
}

func (s *requestSupervisor) publishRollCall() {
	topic := s.req.Topic
	if topic == "" {
		topic = p2p.DefaultTopic
	}
	rc := messages.MsgRollCall{
		Origin:     s.cfg.Self,
		FunctionID: s.req.Request.FunctionID,
		RequestID:  s.req.RequestID,
		Consensus:  messages.ConsensusNone,
		Attributes: s.req.Request.Config.Attributes,
	}
	s.cfg.Metrics.RollCallsPublished.WithLabelValues(rc.FunctionID).Inc()
	s.cfg.Outbox.Publish(topic, rc, nil)
}

func (s *requestSupervisor) sendExecute(ctx actor.Context, to []peer.ID, now time.Time) {
	msg := messages.MsgExecute{Request: s.req.Request, RequestID: s.req.RequestID, Timestamp: now.UTC()}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	for _, p := range to {
		s.cfg.Outbox.Send(p, msg, func(err error) {
			if err != nil {
				root.Send(self, requestSendFailed{to: p, err: err})
			}
		})
	}
}

func (s *requestSupervisor) finish(ctx actor.Context, resp messages.MsgExecuteResponse) {
	s.finished = true
	if s.cancel != nil {
		s.cancel()
	}
	if len(resp.Results) > 0 {
		s.cfg.Results.Put(s.req.RequestID, resp.Results) // nothing to look up otherwise: 404
	}
	ev := s.log.Debug()
	if resp.Code != messages.CodeOK {
		ev = s.log.Info().Str("message", resp.Message)
	}
	ev.Str("code", string(resp.Code)).Int("results", len(resp.Results)).Dur("took", time.Since(s.started)).Msg("request finished")
	if s.req.Client != "" {
		out := resp
		out.RequestID = s.req.ClientRequestID
		s.cfg.Outbox.Send(s.req.Client, out, nil)
	} else if s.req.ReplyTo != nil {
		ctx.Send(s.req.ReplyTo, &RequestDone{Response: resp})
	}
	ctx.Stop(ctx.Self())
}
