package actors

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/messages"
)

// RouterConfig is what the router needs: the node's role, the size limit for one message, and
// which actor owns each message type.
type RouterConfig struct {
	Role            Role
	MaxMessageBytes int
	Owners          map[string]*actor.PID // message type -> owning actor
	Metrics         *Metrics
	Log             zerolog.Logger
}

// Router decodes inbound wire messages, enforces spec §2.1's pipeline and role rules, and
// forwards each admitted message to the actor that owns its type. It keeps no state between
// messages, so a restart loses nothing.
type Router struct {
	cfg RouterConfig
}

// NewRouter returns a producer for the router actor.
func NewRouter(cfg RouterConfig) actor.Producer {
	return func() actor.Actor { return &Router{cfg: cfg} }
}

// Receive implements actor.Actor.
func (r *Router) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Inbound:
		r.route(ctx, m)
	}
}

func (r *Router) route(ctx actor.Context, in *Inbound) {
	if in.Done != nil {
		defer in.Done()
	}
	if r.cfg.MaxMessageBytes > 0 && len(in.Data) > r.cfg.MaxMessageBytes {
		r.drop(in, "", DropTooLarge, messages.ErrTooLarge)
		return
	}
	typ, err := messages.TypeOf(in.Data)
	if err != nil {
		reason := DropMalformed
		if errors.Is(err, messages.ErrUnknownType) {
			reason = DropUnknownType
		}
		r.drop(in, "", reason, err)
		return
	}
	if reason := admit(typ, in.Pipeline, r.cfg.Role); reason != "" {
		r.drop(in, typ, reason, nil)
		return
	}
	msg, err := messages.DecodeAs(typ, in.Data) // size and type were checked above
	if err != nil {
		r.drop(in, typ, DropMalformed, err)
		return
	}
	r.cfg.Metrics.MessagesProcessed.WithLabelValues(typ).Inc()
	if err := msg.Valid(); err != nil {
		r.drop(in, typ, DropInvalid, err)
		return
	}
	owner, ok := r.cfg.Owners[typ]
	if !ok {
		r.drop(in, typ, DropNoOwner, nil)
		return
	}
	r.cfg.Metrics.MessagesProcessedOK.WithLabelValues(typ).Inc()
	ctx.Send(owner, &Delivery{Pipeline: in.Pipeline, From: in.From, Author: in.Author, Message: msg})
}

func (r *Router) drop(in *Inbound, typ, reason string, err error) {
	r.cfg.Metrics.MessagesDropped.WithLabelValues(in.Pipeline.String(), reason).Inc()
	if typ != "" {
		r.cfg.Metrics.MessagesProcessedErr.WithLabelValues(typ).Inc()
	}
	ev := r.cfg.Log.Warn()
	if reason == DropRole || reason == DropNoOwner {
		// Normal on a shared topic (a head sees roll calls too); not worth a warning.
		ev = r.cfg.Log.Debug()
	}
	ev.Str("pipeline", in.Pipeline.String()).Str("topic", in.Pipeline.Topic).
		Stringer("peer", in.From).Str("type", typ).Str("reason", reason).Int("bytes", len(in.Data)).
		AnErr("error", err).Msg("dropped inbound message")
}
