package actors

import (
	"context"
	"errors"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/p2p"
)

// topicListenerConfig configures one topic listener.
type topicListenerConfig struct {
	Host  Host
	Topic string
	// InFlight bounds the messages of this topic between the pump and the router (≥ 1).
	InFlight int
	Router   *actor.PID
	Metrics  *nodeMetrics
	Log      zerolog.Logger
}

// topicListener pumps one gossipsub subscription into actor messages for the router. Its pump
// goroutine is bound to the actor: it starts on Started and is gone before Stopped or a restart.
type topicListener struct {
	cfg    topicListenerConfig
	cancel context.CancelFunc
	done   chan struct{}
}

func newTopicListener(cfg topicListenerConfig) actor.Producer {
	return func() actor.Actor { return &topicListener{cfg: cfg} }
}

// Receive implements actor.Actor.
func (l *topicListener) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		sub, err := l.cfg.Host.Subscribe(l.cfg.Topic)
		if err != nil {
			panic(err) // the supervisor retries with backoff
		}
		l.cfg.Metrics.topicSubscriptions.Inc()
		pumpCtx, cancel := context.WithCancel(context.Background())
		l.cancel, l.done = cancel, make(chan struct{})
		go l.pump(pumpCtx, sub, ctx.ActorSystem().Root, ctx.Self())
	case *actor.Stopping, *actor.Restarting:
		l.stop()
	case *ready:
		ctx.Respond(true) // Started ran first, so the subscription exists
	case *inbound:
		l.cfg.Metrics.topicMessages.WithLabelValues(l.cfg.Topic).Inc()
		ctx.Send(l.cfg.Router, m)
	}
}

func (l *topicListener) pump(ctx context.Context, sub p2p.Subscription, root *actor.RootContext, self *actor.PID) {
	defer close(l.done)
	defer sub.Cancel()
	slots := make(chan struct{}, l.cfg.InFlight)
	for {
		msg, err := sub.Next(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				l.cfg.Log.Warn().Err(err).Str("topic", l.cfg.Topic).Msg("subscription ended")
			}
			return
		}
		// Bounded like the original's per-message semaphore: when the router falls behind, the
		// pump waits and gossipsub's own bounded buffer takes the overflow (and drops), instead
		// of mailboxes growing without end.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		root.Send(self, &inbound{Pipeline: pipeline{Topic: msg.Topic}, From: msg.From, Author: msg.Author, Data: msg.Data,
			Done: func() { <-slots }})
	}
}

func (l *topicListener) stop() {
	if l.cancel == nil {
		return
	}
	l.cancel()
	<-l.done
	l.cancel = nil
}

// directListenerConfig configures the direct-message listener.
type directListenerConfig struct {
	Host    Host
	Router  *actor.PID
	Metrics *nodeMetrics
	Log     zerolog.Logger
}

// directListener is the stream handler's side: every direct message becomes an Inbound for
// the router. libp2p calls the handler on its own goroutines; the actor serialises them.
type directListener struct{ cfg directListenerConfig }

func newDirectListener(cfg directListenerConfig) actor.Producer {
	return func() actor.Actor { return &directListener{cfg: cfg} }
}

// Receive implements actor.Actor.
func (l *directListener) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		root, self := ctx.ActorSystem().Root, ctx.Self()
		l.cfg.Host.SetDirectHandler(
			func(from peer.ID, data []byte) {
				root.Send(self, &inbound{Pipeline: pipeline{Direct: true}, From: from, Author: from, Data: data})
			},
			func(from peer.ID, err error) {
				reason := dropMalformed
				if errors.Is(err, p2p.ErrMessageTooLarge) {
					reason = dropTooLarge
				}
				l.cfg.Metrics.messagesDropped.WithLabelValues("direct", reason).Inc()
				l.cfg.Log.Warn().Err(err).Stringer("peer", from).Str("reason", reason).Msg("dropped inbound message")
			})
	case *ready:
		ctx.Respond(true)
	case *inbound:
		l.cfg.Metrics.directMessages.Inc()
		ctx.Send(l.cfg.Router, m)
	}
}
