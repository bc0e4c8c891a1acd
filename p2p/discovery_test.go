package p2p

import (
	"testing"
	"time"
)

func TestDiscovery_NodesFindEachOtherThroughTheBootNodesDHT(t *testing.T) {
	discoveryConfig := func() Config {
		cfg := testConfig(t)
		cfg.DisableDiscovery = false
		cfg.DiscoveryInterval = 100 * time.Millisecond
		return cfg
	}
	boot := newTestHost(t, nil, nil, discoveryConfig())
	cfg := discoveryConfig()
	cfg.BootNodes = boot.Addresses()
	b := newTestHost(t, nil, nil, cfg)
	c := newTestHost(t, nil, nil, cfg)
	if b.Connected(c.ID()) {
		t.Fatal("b and c connected before discovery")
	}
	// Each advertises the topic on the boot node's DHT and finds the other there.
	waitConnected(t, b, c.ID())
}
