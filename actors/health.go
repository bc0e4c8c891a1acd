package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/messages"
)

// HealthConfig configures the health actor.
type HealthConfig struct {
	Interval time.Duration // between pings; the first goes out one interval after start
	Topic    string
	Outbox   *Outbox
	Log      zerolog.Logger
}

// Health publishes the MsgHealthCheck ping on its interval and notes the pings of others.
type Health struct {
	cfg    HealthConfig
	cancel scheduler.CancelFunc
}

type healthTick struct{}

// NewHealth returns a producer for the health actor.
func NewHealth(cfg HealthConfig) actor.Producer {
	return func() actor.Actor { return &Health{cfg: cfg} }
}

// Receive implements actor.Actor.
func (h *Health) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.cancel = scheduler.NewTimerScheduler(ctx).SendRepeatedly(h.cfg.Interval, h.cfg.Interval, ctx.Self(), healthTick{})
	case *actor.Stopping, *actor.Restarting:
		if h.cancel != nil {
			h.cancel()
		}
	case healthTick:
		h.cfg.Outbox.Publish(h.cfg.Topic, messages.NewHealthCheck(), nil)
	case *Delivery:
		h.cfg.Log.Debug().Stringer("peer", m.Author).Msg("health ping received")
	}
}
