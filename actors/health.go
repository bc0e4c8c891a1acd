package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/messages"
)

// healthConfig configures the health actor.
type healthConfig struct {
	Interval time.Duration // between pings; the first goes out one interval after start
	Topic    string
	Outbox   *outbox
	Log      zerolog.Logger
}

// health publishes the MsgHealthCheck ping on its interval and notes the pings of others.
type health struct {
	cfg    healthConfig
	cancel scheduler.CancelFunc
}

type healthTick struct{}

func newHealth(cfg healthConfig) actor.Producer {
	return func() actor.Actor { return &health{cfg: cfg} }
}

// Receive implements actor.Actor.
func (h *health) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		h.cancel = scheduler.NewTimerScheduler(ctx).SendRepeatedly(h.cfg.Interval, h.cfg.Interval, ctx.Self(), healthTick{})
	case *actor.Stopping, *actor.Restarting:
		if h.cancel != nil {
			h.cancel()
		}
	case healthTick:
		h.cfg.Outbox.publish(h.cfg.Topic, messages.NewHealthCheck(), nil)
	case *delivery:
		h.cfg.Log.Debug().Stringer("peer", m.Author).Msg("health ping received")
	}
}
