package p2p

import (
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
