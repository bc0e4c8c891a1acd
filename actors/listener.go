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
	switch ctx.Message().(type) {
	case *actor.Started:
		sub, err := l.cfg.Host.Subscribe(l.cfg.Topic)
		if err != nil {
			panic(err) // the supervisor retries with backoff
		}
		l.cfg.Metrics.topicSubscriptions.Inc()
		pumpCtx, cancel := context.WithCancel(context.Background())
		l.cancel, l.done = cancel, make(chan struct{})
		go l.pump(pumpCtx, sub, ctx.ActorSystem().Root)
	case *actor.Stopping, *actor.Restarting:
		l.stop()
	case *ready:
		ctx.Respond(true) // Started ran first, so the subscription exists
	}
}

// pump hands each message straight to the router: the listener owns the subscription's life,
// not its traffic, so a message costs no hop through the listener's mailbox.
func (l *topicListener) pump(ctx context.Context, sub p2p.Subscription, root *actor.RootContext) {
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
		l.cfg.Metrics.topicMessages.WithLabelValues(l.cfg.Topic).Inc()
		root.Send(l.cfg.Router, &inbound{Pipeline: pipeline{Topic: msg.Topic}, From: msg.From, Author: msg.Author, Data: msg.Data,
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

// directListener owns the direct-message handler: while it runs, every direct message goes to
// the router as an inbound, straight from the stream's goroutine (the router serialises them).
type directListener struct{ cfg directListenerConfig }

func newDirectListener(cfg directListenerConfig) actor.Producer {
	return func() actor.Actor { return &directListener{cfg: cfg} }
}

// Receive implements actor.Actor.
func (l *directListener) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		root, router, metrics := ctx.ActorSystem().Root, l.cfg.Router, l.cfg.Metrics
		dropLog := l.cfg.Log.Sample(sampledBurst()) // a peer can send garbage without end
		l.cfg.Host.SetDirectHandler(
			func(from peer.ID, data []byte) {
				metrics.directMessages.Inc()
				root.Send(router, &inbound{Pipeline: pipeline{Direct: true}, From: from, Author: from, Data: data})
			},
			func(from peer.ID, err error) {
				reason := dropMalformed
				if errors.Is(err, p2p.ErrMessageTooLarge) {
					reason = dropTooLarge
				}
				l.cfg.Metrics.messagesDropped.WithLabelValues("direct", reason).Inc()
				dropLog.Warn().Err(err).Stringer("peer", from).Str("reason", reason).Msg("dropped inbound message")
			})
	case *ready:
		ctx.Respond(true)
	}
}
