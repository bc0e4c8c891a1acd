package actors

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
)

// outbox encodes wire messages and hands them to the host off the calling actor's goroutine,
// because a send may dial and a dial may take seconds. Every message the node sends or
// publishes goes through it, so each is bounded, counted and logged the same way. Sends run on
// goroutines the outbox keeps for a while: a fresh goroutine per message grew its stack through
// libp2p's stream setup every time, about a twentieth of a busy worker's CPU.
type outbox struct {
	inFlight inFlight
	senders  *reusingDispatcher
	host     Host
	timeout  time.Duration
	metrics  *nodeMetrics
	log      zerolog.Logger
	// tracing, when on, sends each message in a span whose context the message carries.
	tracing *tracing.Provider
}

// newOutbox returns an outbox whose sends give up after timeout.
func newOutbox(host Host, timeout time.Duration, metrics *nodeMetrics, log zerolog.Logger) *outbox {
	return &outbox{host: host, timeout: timeout, metrics: metrics, log: log.Sample(sampledBurst()),
		senders: newReusingDispatcher(1, 5*time.Second)}
}

// send delivers msg to peer to in the background; done (optional) gets the outcome.
func (o *outbox) send(to peer.ID, msg messages.Message, done func(error)) {
	o.deliver(msg, messages.EncodeLine, to, "", done, o.direct(to, msg))
}

// sendEach delivers msg to each of to; done (optional) gets each outcome. Without tracing, the
// message is encoded once for all: the bytes are the same for every peer, and a MsgFormCluster
// with its addresses takes ~90 µs to encode.
func (o *outbox) sendEach(to []peer.ID, msg messages.Message, done func(peer.ID, error)) {
	var data []byte
	var err error
	if !o.tracing.Enabled() {
		data, err = messages.EncodeLine(msg)
	}
	for _, p := range to {
		peerDone := func(err error) {
			if done != nil {
				done(p, err)
			}
		}
		switch {
		case err != nil:
			o.finish(peerDone, err, msg, p, "")
		case data == nil: // tracing: each copy carries its own span
			o.send(p, msg, peerDone)
		default:
			o.schedule(msg, data, nil, p, "", peerDone, o.direct(p, msg))
		}
	}
}

// direct is the transmit of a direct message to peer to.
func (o *outbox) direct(to peer.ID, msg messages.Message) func(context.Context, []byte) error {
	return func(ctx context.Context, data []byte) error {
		if err := o.host.Send(ctx, to, data); err != nil {
			return err
		}
		o.metrics.messagesSent.WithLabelValues(msg.Type()).Inc()
		return nil
	}
}

// publish publishes msg on topic in the background; done (optional) gets the outcome.
func (o *outbox) publish(topic string, msg messages.Message, done func(error)) {
	o.deliver(msg, messages.Encode, "", topic, done, func(ctx context.Context, data []byte) error {
		if err := o.host.Publish(ctx, topic, data); err != nil {
			return err
		}
		o.metrics.messagesPublished.WithLabelValues(msg.Type(), o.metrics.topics.value(topic)).Inc()
		return nil
	})
}

// deliver encodes msg and runs transmit with it off the caller's goroutine, bounded by the
// outbox's timeout and counted for drain. The message goes to peer to or on topic. A direct
// message is encoded as a line (the host then sends it as it is), a published one without.
func (o *outbox) deliver(msg messages.Message, encode func(messages.Message) ([]byte, error), to peer.ID, topic string,
	done func(error), transmit func(context.Context, []byte) error) {
	var span trace.Span
	if o.tracing.Enabled() {
		msg, span = traceOutbound(o.tracing, msg, to, topic)
	}
	data, err := encode(msg)
	if err != nil {
		if span != nil {
			endSpan(span, err)
		}
		o.finish(done, err, msg, to, topic)
		return
	}
	o.schedule(msg, data, span, to, topic, done, transmit)
}

// schedule runs transmit with data on a sender, bounded by the outbox's timeout and counted
// for drain; span (nil: none) ends with the outcome.
func (o *outbox) schedule(msg messages.Message, data []byte, span trace.Span, to peer.ID, topic string,
	done func(error), transmit func(context.Context, []byte) error) {
	o.inFlight.add()
	o.senders.Schedule(func() {
		defer o.inFlight.done()
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		defer cancel()
		err := transmit(ctx, data)
		if span != nil {
			endSpan(span, err)
		}
		o.finish(done, err, msg, to, topic)
	})
}

// drain waits up to d for the sends in flight, so that the last answers of a stopping node
// (requests cut short) leave before the host closes, then lets the idle senders go.
func (o *outbox) drain(d time.Duration) {
	o.inFlight.wait(d)
	o.senders.stop()
}

// inFlight counts sends in progress. Unlike a WaitGroup, sends may start while someone waits:
// a stopping node's actors still answer their requesters while the outbox drains.
type inFlight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (f *inFlight) add() {
	f.mu.Lock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
	f.mu.Unlock()
}

func (f *inFlight) done() {
	f.mu.Lock()
	f.n--
	if f.n == 0 {
		close(f.idle)
	}
	f.mu.Unlock()
}

// wait returns once nothing is in flight, or after d.
func (f *inFlight) wait(d time.Duration) {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return
	}
	idle := f.idle
	f.mu.Unlock()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-idle:
	case <-timer.C:
	}
}

func (o *outbox) finish(done func(error), err error, msg messages.Message, to peer.ID, topic string) {
	if err != nil {
		ev := o.log.Warn().Err(err).Str("type", msg.Type())
		if id := wireLabel(msg).Request; id != "" {
			ev = ev.Str("request", id)
		}
		if to != "" {
			ev = ev.Stringer("peer", to)
		} else {
			ev = ev.Str("topic", topic)
		}
		ev.Msg("outbound message failed")
	}
	if done != nil {
		done(err)
	}
}

// waitAtMost waits for wg, giving up after d.
func waitAtMost(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
}
