package actortest

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Envelope is one message a probe received, with who sent it (nil from outside an actor).
type Envelope struct {
	Sender  *actor.PID
	Message any
}

// Probe is an actor that stands in for a peer of the actor under test and records what it is
// sent, so a test can expect messages with a deadline.
type Probe struct {
	PID *actor.PID
	ch  chan Envelope
	// reply, when set, answers every message: a non-nil result is the response to the sender.
	reply func(msg any) any
}

// ProbeOption configures a probe.
type ProbeOption func(*Probe)

// WithReply makes the probe answer every message it gets with reply(msg) when reply returns
// non-nil (as a Respond for requests, or a Send to the sender).
func WithReply(reply func(msg any) any) ProbeOption {
	return func(p *Probe) { p.reply = reply }
}

// NewProbe spawns a probe named name.
func (s *System) NewProbe(t testing.TB, name string, opts ...ProbeOption) *Probe {
	t.Helper()
	p := &Probe{ch: make(chan Envelope, 1024)}
	for _, o := range opts {
		o(p)
	}
	p.PID = s.Spawn(t, name, "probe", func() actor.Actor { return p })
	return p
}

// Receive implements actor.Actor.
func (p *Probe) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
		return
	}
	if p.reply != nil {
		if r := p.reply(ctx.Message()); r != nil && ctx.Sender() != nil {
			ctx.Respond(r)
		}
	}
	p.ch <- Envelope{Sender: ctx.Sender(), Message: ctx.Message()}
}

// Expect returns the next message, failing the test if none arrives within timeout.
func (p *Probe) Expect(t testing.TB, timeout time.Duration) Envelope {
	t.Helper()
	select {
	case env := <-p.ch:
		return env
	case <-time.After(timeout):
		t.Fatalf("probe %s: no message within %s", p.PID.Id, timeout)
		return Envelope{}
	}
}

// ExpectNone fails the test if a message arrives within d.
func (p *Probe) ExpectNone(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case env := <-p.ch:
		t.Fatalf("probe %s: unexpected message %s", p.PID.Id, describe(env.Message))
	case <-time.After(d):
	}
}

// Expect returns the next message to p as a T, failing the test if it is of another type or
// none arrives within timeout.
func Expect[T any](t testing.TB, p *Probe, timeout time.Duration) T {
	t.Helper()
	env := p.Expect(t, timeout)
	m, ok := env.Message.(T)
	if !ok {
		var zero T
		t.Fatalf("probe %s: got %s, want %T", p.PID.Id, describe(env.Message), zero)
	}
	return m
}

// ExpectSkipping returns the first message of type T, dropping others, within timeout.
func ExpectSkipping[T any](t testing.TB, p *Probe, timeout time.Duration) T {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case env := <-p.ch:
			if m, ok := env.Message.(T); ok {
				return m
			}
		case <-deadline:
			var zero T
			t.Fatalf("probe %s: no %T within %s", p.PID.Id, zero, timeout)
			return zero
		}
	}
}
