package p2p

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 20 * time.Second

// testConfig listens on loopback only, with discovery off unless a test turns it on.
func testConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	cfg.Address = "127.0.0.1"
	cfg.DisableDiscovery = true
	cfg.DialTimeout = 5 * time.Second
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	return cfg
}

func testKey(t testing.TB) crypto.PrivKey {
	t.Helper()
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// newTestHost creates and starts a host that is closed when the test ends.
func newTestHost(t testing.TB, key crypto.PrivKey, db *bbolt.DB, cfg Config) *Host {
	t.Helper()
	if key == nil {
		key = testKey(t)
	}
	h, err := New(key, db, cfg)
	if err != nil {
		t.Fatalf("new host: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close host: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatalf("start host: %v", err)
	}
	return h
}

func openDB(t testing.TB, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	return db
}

func tempDBPath(t testing.TB) string { return filepath.Join(t.TempDir(), "b7s.db") }

func addrInfo(h *Host) peer.AddrInfo {
	return peer.AddrInfo{ID: h.ID(), Addrs: h.LibP2P().Addrs()}
}

// waitConnected waits for h to be connected to p, on the host's events.
func waitConnected(t testing.TB, h *Host, p peer.ID) {
	t.Helper()
	sub, err := h.LibP2P().EventBus().Subscribe(new(event.EvtPeerConnectednessChanged))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	deadline := time.After(testTimeout)
	for !h.Connected(p) {
		select {
		case <-sub.Out():
		case <-deadline:
			t.Fatalf("%s not connected to %s after %s", h.ID(), p, testTimeout)
		}
	}
}

// waitFor polls cond until it holds; only for state that has no event to wait on.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}
