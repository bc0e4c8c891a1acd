package p2p

import (
	"context"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Message is one pubsub message from another node.
type Message struct {
	Topic string
	// From is the neighbour that forwarded the message (ReceivedFrom), which
	// b7s treats as the sender (spec §2).
	From peer.ID
	// Author is the publisher (the signed "from" field).
	Author peer.ID
	Data   []byte
}

// pubsubQueueSize bounds each of gossipsub's queues (per-peer outbound, validation,
// subscription): large enough for bursts, still bounded.
const pubsubQueueSize = 1024

// seenMessagesTTL is how long gossipsub remembers a message ID to drop its duplicates: twice
// the longest a message is gossiped (HistoryLength, 5 heartbeats of 1 s).
const seenMessagesTTL = 10 * time.Second

// Subscription delivers a topic's messages, without the node's own. It is an interface so that
// the node's actors can be tested with a subscription of their own making.
type Subscription interface {
	// Next blocks for the next message from another node. It fails when ctx ends, the
	// subscription is cancelled or the host is closed.
	Next(ctx context.Context) (Message, error)
	// Cancel ends the subscription; a blocked Next returns an error.
	Cancel()
}

// topicSubscription is a gossipsub subscription that skips the node's own messages.
type topicSubscription struct {
	sub  *pubsub.Subscription
	self peer.ID
}

// MaxPublishOnlyTopics bounds the topics a node joins only to publish on: a head publishes a
// roll call on whatever topic a REST client names, and every joined topic holds pubsub state.
// Beyond it the least recently used one that nothing is using is left; when every one is in
// use, the publish is refused.
const MaxPublishOnlyTopics = 64

// otherTopicLabel labels the metrics of publish-only topics, whose names come from clients.
const otherTopicLabel = "other"

// joinedTopic is a topic the node has joined: subscribed ones stay for the node's life.
type joinedTopic struct {
	t          *pubsub.Topic
	subscribed bool
	inUse      int
	lastUse    uint64 // h.topicUses when last acquired: the eviction order
}

// acquireTopic joins name once and marks it in use until release is called; Subscribe,
// Publish and the peer queries share the handle. subscribed is whether the node is
// subscribed to it, read under the lock (Subscribe sets it).
func (h *Host) acquireTopic(name string, subscribe bool) (t *pubsub.Topic, subscribed bool, release func(), err error) {
	h.topicsMu.Lock()
	defer h.topicsMu.Unlock()
	h.topicUses++
	jt, ok := h.topics[name]
	if !ok {
		if !subscribe {
			if err := h.makeRoomForPublishOnlyTopic(); err != nil {
				return nil, false, nil, fmt.Errorf("join topic %s: %w", name, err)
			}
		}
		t, err := h.pubsub.Join(name)
		if err != nil {
			return nil, false, nil, fmt.Errorf("join topic %s: %w", name, err)
		}
		jt = &joinedTopic{t: t}
		h.topics[name] = jt
	}
	jt.subscribed = jt.subscribed || subscribe
	jt.inUse++
	jt.lastUse = h.topicUses
	return jt.t, jt.subscribed, func() {
		h.topicsMu.Lock()
		jt.inUse--
		h.topicsMu.Unlock()
	}, nil
}

// makeRoomForPublishOnlyTopic leaves the least recently used idle publish-only topic when
// there are MaxPublishOnlyTopics of them. Called with topicsMu held.
func (h *Host) makeRoomForPublishOnlyTopic() error {
	count, oldest := 0, ""
	for name, jt := range h.topics {
		if jt.subscribed {
			continue
		}
		count++
		if jt.inUse == 0 && (oldest == "" || jt.lastUse < h.topics[oldest].lastUse) {
			oldest = name
		}
	}
	if count < MaxPublishOnlyTopics {
		return nil
	}
	if oldest == "" {
		return fmt.Errorf("%d topics joined only to publish on, all in use", count)
	}
	if err := h.topics[oldest].t.Close(); err != nil {
		return fmt.Errorf("leave topic %s to make room: %w", oldest, err)
	}
	delete(h.topics, oldest)
	return nil
}

// Subscribe joins the topic (once) and subscribes to it.
func (h *Host) Subscribe(topic string) (Subscription, error) {
	t, _, release, err := h.acquireTopic(topic, true)
	if err != nil {
		return nil, err
	}
	defer release()
	sub, err := t.Subscribe(pubsub.WithBufferSize(pubsubQueueSize))
	if err != nil {
		return nil, fmt.Errorf("subscribe to topic %s: %w", topic, err)
	}
	return &topicSubscription{sub: sub, self: h.host.ID()}, nil
}

// Next implements Subscription.
func (s *topicSubscription) Next(ctx context.Context) (Message, error) {
	for {
		msg, err := s.sub.Next(ctx)
		if err != nil {
			return Message{}, fmt.Errorf("next message on %s: %w", s.sub.Topic(), err)
		}
		if msg.ReceivedFrom == s.self {
			continue
		}
		return Message{
			Topic:  s.sub.Topic(),
			From:   msg.ReceivedFrom,
			Author: msg.GetFrom(),
			Data:   msg.Data,
		}, nil
	}
}

// Cancel implements Subscription.
func (s *topicSubscription) Cancel() { s.sub.Cancel() }

// Publish sends data on the topic, joining it without subscribing when the
// node has not done so yet.
func (h *Host) Publish(ctx context.Context, topic string, data []byte) error {
	t, subscribed, release, err := h.acquireTopic(topic, false)
	if err != nil {
		return err
	}
	defer release()
	if err := t.Publish(ctx, data); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	label := topic
	if !subscribed {
		label = otherTopicLabel
	}
	h.metrics.messagePublished(label, len(data))
	return nil
}

// TopicPeers returns the peers known to be subscribed to the topic.
func (h *Host) TopicPeers(topic string) ([]peer.ID, error) {
	t, _, release, err := h.acquireTopic(topic, false)
	if err != nil {
		return nil, err
	}
	defer release()
	return t.ListPeers(), nil
}

// WaitTopicPeers blocks until at least n peers are known to be subscribed to
// the topic, or ctx ends. Useful before a first publish (roll calls, tests).
// Peer events can be missed between joining the topic and registering the
// handler, so the peer list is also re-read every few milliseconds.
func (h *Host) WaitTopicPeers(ctx context.Context, topic string, n int) error {
	t, _, release, err := h.acquireTopic(topic, false)
	if err != nil {
		return err
	}
	defer release()
	events, err := t.EventHandler()
	if err != nil {
		return fmt.Errorf("topic %s events: %w", topic, err)
	}
	defer events.Cancel()
	for len(t.ListPeers()) < n {
		waitCtx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err := events.NextPeerEvent(waitCtx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("wait for %d peers on %s: %w", n, topic, ctx.Err())
		}
	}
	return nil
}
