package actors_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/p2p"
)

func newHost(t *testing.T, bootNodes ...string) *p2p.Host {
	t.Helper()
	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := p2p.DefaultConfig()
	cfg.Address = "127.0.0.1"
	cfg.DisableDiscovery = true
	cfg.BootNodes = bootNodes
	h, err := p2p.New(key, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// The listener holds at most InFlight messages the router has not finished; past that it stops
// reading the subscription (gossipsub's bounded buffer takes the overflow).
func TestTopicListener_BoundsMessagesWaitingForTheRouter(t *testing.T) {
	listening := newHost(t)
	sys := actortest.NewSystem(t)
	router := sys.NewProbe(t, "router")
	sys.Spawn(t, "listener", "topic-listener", actors.NewTopicListener(actors.TopicListenerConfig{
		Host: listening, Topic: p2p.DefaultTopic, InFlight: 2, Router: router.PID,
		Metrics: actors.NewMetrics(nil), Log: zerolog.Nop(),
	}))
	sys.WaitActor(t, "listener", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, 10*time.Second)

	publisher := newHost(t, listening.Addresses()[0])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := publisher.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := publisher.WaitTopicPeers(ctx, p2p.DefaultTopic, 1); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := publisher.Publish(ctx, p2p.DefaultTopic, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	first := actortest.Expect[*actors.Inbound](t, router, 10*time.Second)
	second := actortest.Expect[*actors.Inbound](t, router, 10*time.Second)
	router.ExpectNone(t, 300*time.Millisecond) // both slots are taken
	first.Done()
	third := actortest.Expect[*actors.Inbound](t, router, 10*time.Second)
	if third.Author != publisher.ID() {
		t.Fatalf("third message from %s, want the publisher", third.Author)
	}
	router.ExpectNone(t, 300*time.Millisecond) // full again
	second.Done()
	third.Done()
	seen := map[string]bool{string(first.Data): true, string(second.Data): true, string(third.Data): true}
	for range 2 {
		in := actortest.Expect[*actors.Inbound](t, router, 10*time.Second)
		seen[string(in.Data)] = true
		in.Done()
	}
	if len(seen) != 5 {
		t.Fatalf("saw %d distinct messages, want all 5: %v", len(seen), seen)
	}
}
