package actors

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
)

// routerConfig is what the router needs: the node's role and which actor owns each message
// type. Sizes are not its concern: the direct protocol refuses a message over the node's limit
// while reading it, and gossipsub refuses one over its own.
type routerConfig struct {
	Role    Role
	Owners  map[string]*actor.PID // message type -> owning actor
	Metrics *nodeMetrics
	Log     zerolog.Logger
	// Recording: the node keeps recent messages, so the router notes what each inbound
	// message was (see describe).
	Recording bool
	// Tracing, when on, opens each admitted message's MessageProcess span (see tracing.go).
	Tracing *tracing.Provider
}

// router decodes inbound wire messages, enforces spec §2.1's pipeline and role rules, and
// forwards each admitted message to the actor that owns its type. It keeps no state between
// messages, so a restart loses nothing.
type router struct {
	cfg     routerConfig
	dropLog zerolog.Logger // sampled: a peer can send garbage without end
	// last labels the inbound message being routed, for the inspection ring (Recording only).
	last inspect.Label
}

func newRouter(cfg routerConfig) actor.Producer {
	return func() actor.Actor { return &router{cfg: cfg, dropLog: cfg.Log.Sample(sampledBurst())} }
}

// Receive implements actor.Actor.
func (r *router) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *inbound:
		r.route(ctx, m)
	}
}

func (r *router) route(ctx actor.Context, in *inbound) {
	if in.Done != nil {
		defer in.Done()
	}
	if r.cfg.Recording {
		r.last = inspect.Label{Type: "", Peer: in.From} // the type, once read, and the request, once decoded
	}
	typ, err := messages.TypeOf(in.Data)
	if err != nil {
		reason := dropMalformed
		if errors.Is(err, messages.ErrUnknownType) {
			reason = dropUnknownType
		}
		r.drop(in, "", reason, err)
		return
	}
	if reason := admit(typ, in.Pipeline, r.cfg.Role); reason != "" {
		r.drop(in, typ, reason, nil)
		return
	}
	msg, err := messages.DecodeAs(typ, in.Data) // the type was checked above
	if err != nil {
		r.drop(in, typ, dropMalformed, err)
		return
	}
	if r.cfg.Recording {
		r.last = wireLabel(msg)
		r.last.Peer = in.From
	}
	r.cfg.Metrics.messagesProcessed.WithLabelValues(typ).Inc()
	if err := msg.Valid(); err != nil {
		r.drop(in, typ, dropInvalid, err)
		return
	}
	owner, ok := r.cfg.Owners[typ]
	if !ok {
		r.drop(in, typ, dropNoOwner, nil)
		return
	}
	r.cfg.Metrics.messagesProcessedOK.WithLabelValues(typ).Inc()
	if r.cfg.Tracing.Enabled() {
		msg = traceInbound(r.cfg.Tracing, in, typ, msg)
	}
	ctx.Send(owner, &delivery{Pipeline: in.Pipeline, From: in.From, Author: in.Author, Message: msg})
}

func (r *router) drop(in *inbound, typ, reason string, err error) {
	if r.cfg.Recording {
		switch {
		case r.last.Type != "": // decoded: the label names the request too
		case typ != "":
			r.last.Type = typ
		default:
			r.last.Type = "unreadable"
		}
		r.last.Detail = "dropped: " + reason
	}
	r.cfg.Metrics.messagesDropped.WithLabelValues(in.Pipeline.String(), reason).Inc()
	if typ != "" {
		r.cfg.Metrics.messagesProcessedErr.WithLabelValues(typ).Inc()
	}
	ev := r.dropLog.Warn()
	if reason == dropRole || reason == dropNoOwner {
		// Normal on a shared topic (a head sees roll calls too); not worth a warning.
		ev = r.cfg.Log.Debug()
	}
	ev.Str("pipeline", in.Pipeline.String()).Str("topic", in.Pipeline.Topic).
		Stringer("peer", in.From).Str("type", typ).Str("reason", reason).Int("bytes", len(in.Data)).
		AnErr("error", err).Msg("dropped inbound message")
}
