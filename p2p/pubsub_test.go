package p2p

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// cluster is three hosts: a boot node and two nodes that know only it.
type cluster struct{ boot, b, c *Host }

func newCluster(t *testing.T) cluster {
	t.Helper()
	boot := newTestHost(t, nil, nil, testConfig(t))
	cfg := testConfig(t)
	cfg.BootNodes = boot.Addresses()
	cfg.MustReachBootNodes = true
	cl := cluster{boot: boot, b: newTestHost(t, nil, nil, cfg), c: newTestHost(t, nil, nil, cfg)}
	for _, h := range []*Host{cl.b, cl.c} {
		if !h.Connected(boot.ID()) {
			t.Fatalf("%s not connected to the boot node after Start", h.ID())
		}
	}
	return cl
}

// next returns the next message that is not a warm-up probe.
func next(t *testing.T, ctx context.Context, s Subscription) Message {
	t.Helper()
	for {
		msg, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if !strings.HasPrefix(string(msg.Data), probePrefix) {
			return msg
		}
	}
}

const probePrefix = "probe-"

// warmUp publishes probes from pub until one reaches to. Gossipsub forwards
// only along the mesh, which the heartbeat builds after subscriptions are
// known; a message forwarded before that is never delivered to the later
// mesh members. There is no public event for "mesh built", hence probes.
func warmUp(t *testing.T, ctx context.Context, pub *Host, topic string, to Subscription) {
	t.Helper()
	for i := range 100 {
		if err := pub.Publish(ctx, topic, fmt.Appendf(nil, "%s%d", probePrefix, i)); err != nil {
			t.Fatal(err)
		}
		attempt, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := to.Next(attempt)
		cancel()
		if err == nil {
			return
		}
	}
	t.Fatalf("no probe from %s reached the subscriber on %s", pub.ID(), topic)
}

func expectMessage(t *testing.T, got Message, topic, data string, from, author peer.ID) {
	t.Helper()
	if got.Topic != topic || string(got.Data) != data || got.From != from || got.Author != author {
		t.Errorf("got {topic %s, data %q, from %s, author %s}, want {topic %s, data %q, from %s, author %s}",
			got.Topic, got.Data, got.From, got.Author, topic, data, from, author)
	}
}

func TestPubsub_ThreeHosts(t *testing.T) {
	cl := newCluster(t)
	ctx := testContext(t)

	subs := map[peer.ID]Subscription{}
	for _, h := range []*Host{cl.boot, cl.b, cl.c} {
		s, err := h.Subscribe(DefaultTopic)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Cancel)
		subs[h.ID()] = s
	}
	// The boot node must know both subscribers, and each of them the boot node.
	for h, n := range map[*Host]int{cl.boot: 2, cl.b: 1, cl.c: 1} {
		if err := h.WaitTopicPeers(ctx, DefaultTopic, n); err != nil {
			t.Fatal(err)
		}
	}

	warmUp(t, ctx, cl.b, DefaultTopic, subs[cl.c.ID()])
	warmUp(t, ctx, cl.c, DefaultTopic, subs[cl.b.ID()])

	t.Run("published message reaches both others with author and forwarder", func(t *testing.T) {
		if err := cl.b.Publish(ctx, DefaultTopic, []byte("from-b")); err != nil {
			t.Fatal(err)
		}
		expectMessage(t, next(t, ctx, subs[cl.boot.ID()]), DefaultTopic, "from-b", cl.b.ID(), cl.b.ID())
		// c is not connected to b: the boot node forwarded it.
		expectMessage(t, next(t, ctx, subs[cl.c.ID()]), DefaultTopic, "from-b", cl.boot.ID(), cl.b.ID())
	})

	t.Run("publisher does not receive its own message", func(t *testing.T) {
		// b's own "from-b" was handed back to its subscription first; if it
		// were not skipped, it would come before c's message (probes aside).
		if err := cl.c.Publish(ctx, DefaultTopic, []byte("from-c")); err != nil {
			t.Fatal(err)
		}
		expectMessage(t, next(t, ctx, subs[cl.b.ID()]), DefaultTopic, "from-c", cl.boot.ID(), cl.c.ID())
		expectMessage(t, next(t, ctx, subs[cl.boot.ID()]), DefaultTopic, "from-c", cl.c.ID(), cl.c.ID())
	})

	t.Run("publish to a topic the node did not subscribe to", func(t *testing.T) {
		const subgroup = "blockless/b7s/subgroup"
		var sgSubs []Subscription
		for _, h := range []*Host{cl.b, cl.c} {
			s, err := h.Subscribe(subgroup)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Cancel)
			sgSubs = append(sgSubs, s)
		}
		if err := cl.boot.WaitTopicPeers(ctx, subgroup, 2); err != nil {
			t.Fatal(err)
		}
		if err := cl.boot.Publish(ctx, subgroup, []byte("roll-call")); err != nil {
			t.Fatal(err)
		}
		for _, s := range sgSubs {
			expectMessage(t, next(t, ctx, s), subgroup, "roll-call", cl.boot.ID(), cl.boot.ID())
		}
		if slices.Contains(cl.boot.pubsub.GetTopics(), subgroup) {
			t.Error("publishing subscribed the boot node to the subgroup")
		}
	})

	t.Run("cancelled subscription stops Next", func(t *testing.T) {
		s, err := cl.c.Subscribe("blockless/b7s/other")
		if err != nil {
			t.Fatal(err)
		}
		s.Cancel()
		if _, err := s.Next(ctx); err == nil {
			t.Fatal("Next after Cancel returned a message")
		}
	})
}
