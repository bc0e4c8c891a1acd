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
	data, err := messages.Encode(msg)
	if err != nil {
		o.finish(done, err, msg, to.String())
		return
	}
	o.inFlight.Add(1)
	go func() {
		defer o.inFlight.Done()
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		defer cancel()
		err := o.net.Send(ctx, to, data)
		if err == nil {
			o.metrics.MessagesSent.WithLabelValues(msg.Type()).Inc()
		}
		o.finish(done, err, msg, to.String())
	}()
}

// Publish publishes msg on topic in the background; done (optional) gets the outcome.
func (o *Outbox) Publish(topic string, msg messages.Message, done func(error)) {
	data, err := messages.Encode(msg)
	if err != nil {
		o.finish(done, err, msg, topic)
		return
	}
	o.inFlight.Add(1)
	go func() {
		defer o.inFlight.Done()
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		defer cancel()
		err := o.net.Publish(ctx, topic, data)
		if err == nil {
			o.metrics.MessagesPublished.WithLabelValues(msg.Type(), topic).Inc()
		}
		o.finish(done, err, msg, topic)
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
