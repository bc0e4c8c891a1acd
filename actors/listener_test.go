package actors

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/p2p"
)

// The listener holds at most InFlight messages the router has not finished; past that it stops
// reading the subscription (gossipsub's bounded buffer takes the overflow).
func TestTopicListener_BoundsMessagesWaitingForTheRouter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := newFakeHost(testPeer)
		sys := actortest.NewSystem(t)
		router := sys.NewProbe(t, "router")
		listener := sys.Spawn(t, "listener", "topic-listener", newTopicListener(topicListenerConfig{
			Host: host, Topic: p2p.DefaultTopic, InFlight: 2, Router: router.PID, Metrics: newMetrics(nil), Log: sys.Log,
		}))
		defer func() { _ = sys.Root.StopFuture(listener).Wait() }() // its pump goroutine ends with it
		sys.WaitActor(t, "listener", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)
		publisher := newPeerID()
		for i := range 5 {
			host.deliverTopic(p2p.DefaultTopic, publisher, fmt.Appendf(nil, `{"n":%d}`, i))
		}
		first := actortest.Expect[*inbound](t, router, time.Second)
		second := actortest.Expect[*inbound](t, router, time.Second)
		router.ExpectNone(t, time.Second) // both slots are taken
		first.Done()
		third := actortest.Expect[*inbound](t, router, time.Second)
		if third.Author != publisher || third.Pipeline.Topic != p2p.DefaultTopic {
			t.Fatalf("third message %+v, want the publisher's on the default topic", third)
		}
		router.ExpectNone(t, time.Second) // full again
		second.Done()
		third.Done()
		seen := map[string]bool{string(first.Data): true, string(second.Data): true, string(third.Data): true}
		for range 2 {
			in := actortest.Expect[*inbound](t, router, time.Second)
			seen[string(in.Data)] = true
			in.Done()
		}
		if len(seen) != 5 {
			t.Fatalf("saw %d distinct messages, want all 5: %v", len(seen), seen)
		}
	})
}

// Stopping the listener ends its pump and its subscription: nothing outlives the actor.
func TestTopicListener_StopEndsTheSubscription(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := newFakeHost(testPeer)
		sys := actortest.NewSystem(t)
		router := sys.NewProbe(t, "router")
		pid := sys.Spawn(t, "listener", "topic-listener", newTopicListener(topicListenerConfig{
			Host: host, Topic: "t", InFlight: 1, Router: router.PID, Metrics: newMetrics(nil), Log: sys.Log,
		}))
		sys.WaitActor(t, "listener", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)
		if n := host.subscribers("t"); n != 1 {
			t.Fatalf("%d subscriptions, want 1", n)
		}
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
		if n := host.subscribers("t"); n != 0 {
			t.Fatalf("%d subscriptions left after stop", n)
		}
		// synctest.Test fails if the pump goroutine were still running.
	})
}

// Direct messages reach the router as inbound from their stream's peer; a read the host gave up
// on (too large, malformed) is a counted drop.
func TestDirectListener_ForwardsMessagesAndCountsFailedReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		host := newFakeHost(testPeer)
		sys := actortest.NewSystem(t)
		router := sys.NewProbe(t, "router")
		metrics := newMetrics(nil)
		sys.Spawn(t, "direct", "direct-listener", newDirectListener(directListenerConfig{
			Host: host, Router: router.PID, Metrics: metrics, Log: sys.Log,
		}))
		sys.WaitActor(t, "direct", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)
		from := newPeerID()
		host.deliverDirect(from, []byte(`{"type":"MsgHealthCheck"}`), nil)
		in := actortest.Expect[*inbound](t, router, time.Second)
		if !in.Pipeline.Direct || in.From != from || in.Author != from || string(in.Data) != `{"type":"MsgHealthCheck"}` {
			t.Fatalf("inbound %+v", in)
		}
		host.deliverDirect(from, nil, fmt.Errorf("read: %w", p2p.ErrMessageTooLarge))
		host.deliverDirect(from, nil, fmt.Errorf("read: stream reset"))
		if got := testutil.ToFloat64(metrics.messagesDropped.WithLabelValues("direct", dropTooLarge)); got != 1 {
			t.Errorf("too large drops = %v, want 1", got)
		}
		if got := testutil.ToFloat64(metrics.messagesDropped.WithLabelValues("direct", dropMalformed)); got != 1 {
			t.Errorf("malformed drops = %v, want 1", got)
		}
		router.ExpectNone(t, time.Second)
	})
}
