package p2p

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestNew_ListensOnTCPAndQUICAndWebsocket(t *testing.T) {
	cfg := testConfig(t)
	cfg.Websocket = true
	h := newTestHost(t, nil, nil, cfg)
	addrs := strings.Join(h.Addresses(), " ")
	for _, want := range []string{"/ip4/127.0.0.1/tcp/", "/quic-v1/p2p/" + h.ID().String(), "/ws/p2p/" + h.ID().String()} {
		if !strings.Contains(addrs, want) {
			t.Errorf("addresses %s lack %s", addrs, want)
		}
	}
}

func TestNew_AnnouncesOnlyDialbackAddresses(t *testing.T) {
	cfg := testConfig(t)
	cfg.Websocket = true
	cfg.DialbackAddress, cfg.DialbackPort, cfg.WebsocketDialbackPort = "127.0.0.1", 4001, 4002
	h := newTestHost(t, nil, nil, cfg)
	got := strings.Join(h.Addresses(), " ")
	id := h.ID().String()
	want := "/ip4/127.0.0.1/tcp/4001/p2p/" + id + " /ip4/127.0.0.1/tcp/4002/ws/p2p/" + id
	if got != want {
		t.Errorf("announced %s, want %s", got, want)
	}
}

func TestNew_RejectsInvalidConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.BootNodes = []string{"/ip4/127.0.0.1/tcp/1"}
	if _, err := New(testKey(t), nil, cfg); err == nil {
		t.Fatal("New accepted a boot node without /p2p")
	}
}

func TestPublish_CountsMetricsPerTopic(t *testing.T) {
	cfg := testConfig(t)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	h := newTestHost(t, nil, nil, cfg)
	// A second host on the same registry reuses the collectors.
	newTestHost(t, nil, nil, cfg)

	ctx := testContext(t)
	sub, err := h.Subscribe(DefaultTopic)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	for _, data := range []string{"abc", "defgh"} {
		if err := h.Publish(ctx, DefaultTopic, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(h.metrics.published.WithLabelValues(DefaultTopic)); got != 2 {
		t.Errorf("b7s_host_messages_published = %v, want 2", got)
	}
	if got := testutil.ToFloat64(h.metrics.publishedBytes.WithLabelValues(DefaultTopic)); got != 8 {
		t.Errorf("b7s_host_messages_published_bytes = %v, want 8", got)
	}
	// A topic the node only publishes on is named by clients: its series is "other".
	if err := h.Publish(ctx, "made/up/by/a/client", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(h.metrics.published.WithLabelValues(otherTopicLabel)); got != 1 {
		t.Errorf("b7s_host_messages_published{topic=other} = %v, want 1", got)
	}
}

// Topics named by clients do not pile up: past MaxPublishOnlyTopics the least recently used
// idle one is left, subscribed topics stay, and with every one in use a publish is refused.
func TestPublish_PublishOnlyTopicsAreBounded(t *testing.T) {
	h := newTestHost(t, nil, nil, testConfig(t))
	ctx := testContext(t)
	sub, err := h.Subscribe(DefaultTopic)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	for i := range 3 * MaxPublishOnlyTopics {
		if err := h.Publish(ctx, fmt.Sprintf("client/topic/%d", i), []byte("x")); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	h.topicsMu.Lock()
	joined := len(h.topics)
	_, keptSubscribed := h.topics[DefaultTopic]
	_, keptNewest := h.topics[fmt.Sprintf("client/topic/%d", 3*MaxPublishOnlyTopics-1)]
	_, keptOldest := h.topics["client/topic/0"]
	h.topicsMu.Unlock()
	if joined != MaxPublishOnlyTopics+1 || !keptSubscribed || !keptNewest || keptOldest {
		t.Fatalf("joined %d topics (want %d), subscribed kept %v, newest kept %v, oldest kept %v",
			joined, MaxPublishOnlyTopics+1, keptSubscribed, keptNewest, keptOldest)
	}
	if err := h.Publish(ctx, DefaultTopic, []byte("still works")); err != nil {
		t.Fatal(err)
	}

	// Every publish-only topic in use: the next new one is refused, not joined.
	var releases []func()
	h.topicsMu.Lock()
	for _, jt := range h.topics {
		if !jt.subscribed {
			jt.inUse++
			releases = append(releases, func() { jt.inUse-- })
		}
	}
	h.topicsMu.Unlock()
	err = h.Publish(ctx, "one/more", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "all in use") {
		t.Fatalf("publish with every topic in use: %v", err)
	}
	h.topicsMu.Lock()
	for _, r := range releases {
		r()
	}
	h.topicsMu.Unlock()
	if err := h.Publish(ctx, "one/more", []byte("x")); err != nil {
		t.Fatalf("publish once a topic is idle again: %v", err)
	}
}

func TestClose_IsIdempotentAndStopsStart(t *testing.T) {
	h, err := New(testKey(t), nil, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := h.Start(testContext(t)); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestNew_DisableQUICListensOnTCPOnly(t *testing.T) {
	cfg := testConfig(t)
	cfg.DisableQUIC = true
	h := newTestHost(t, nil, nil, cfg)
	for _, a := range h.Addresses() {
		if strings.Contains(a, "/quic") {
			t.Fatalf("listening on %s with QUIC disabled", a)
		}
	}
}
