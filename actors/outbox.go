package actors

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/messages"
)

// Network is what actors need from the libp2p host (p2p.Host implements it). Kept small so
// actors can be tested against a fake.
type Network interface {
	ID() peer.ID
	Publish(ctx context.Context, topic string, data []byte) error
	Send(ctx context.Context, to peer.ID, data []byte) error
	Connected(p peer.ID) bool
}

// Outbox encodes wire messages and hands them to the network off the calling actor's
// goroutine, because a send may dial and a dial may take seconds.
type Outbox struct {
	inFlight sync.WaitGroup
	net      Network
	timeout  time.Duration
	metrics  *Metrics
	log      zerolog.Logger
}

// NewOutbox returns an outbox whose sends give up after timeout.
func NewOutbox(net Network, timeout time.Duration, metrics *Metrics, log zerolog.Logger) *Outbox {
	return &Outbox{net: net, timeout: timeout, metrics: metrics, log: log}
}

// Send delivers msg to peer to in the background; done (optional) gets the outcome.
func (o *Outbox) Send(to peer.ID, msg messages.Message, done func(error)) {
	o.deliver(msg, to.String(), done, func(ctx context.Context, data []byte) error {
		if err := o.net.Send(ctx, to, data); err != nil {
			return err
		}
		o.metrics.MessagesSent.WithLabelValues(msg.Type()).Inc()
		return nil
	})
}

// Publish publishes msg on topic in the background; done (optional) gets the outcome.
func (o *Outbox) Publish(topic string, msg messages.Message, done func(error)) {
	o.deliver(msg, topic, done, func(ctx context.Context, data []byte) error {
		if err := o.net.Publish(ctx, topic, data); err != nil {
			return err
		}
		o.metrics.MessagesPublished.WithLabelValues(msg.Type(), topic).Inc()
		return nil
	})
}

// deliver encodes msg and runs transmit with it off the caller's goroutine, bounded by the
// outbox's timeout and counted for Drain.
func (o *Outbox) deliver(msg messages.Message, target string, done func(error), transmit func(context.Context, []byte) error) {
	data, err := messages.Encode(msg)
	if err != nil {
		o.finish(done, err, msg, target)
		return
	}
	o.inFlight.Add(1)
	go func() {
		defer o.inFlight.Done()
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		defer cancel()
		o.finish(done, transmit(ctx, data), msg, target)
	}()
}

// Drain waits up to d for the sends in flight, so that the last answers of a stopping node
// (requests cut short) leave before the host closes.
func (o *Outbox) Drain(d time.Duration) { waitAtMost(&o.inFlight, d) }

func (o *Outbox) finish(done func(error), err error, msg messages.Message, target string) {
	if err != nil {
		o.log.Warn().Err(err).Str("type", msg.Type()).Str("to", target).Msg("outbound message failed")
	}
	if done != nil {
		done(err)
	}
}
