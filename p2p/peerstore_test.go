package p2p

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"go.etcd.io/bbolt"
)

// savedAddrs returns the addresses h's store holds for p.
func savedAddrs(t *testing.T, h *Host, p peer.ID) []string {
	t.Helper()
	saved, err := h.SavedPeers()
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range saved {
		if info.ID == p {
			var out []string
			for _, a := range info.Addrs {
				out = append(out, a.String())
			}
			return out
		}
	}
	return nil
}

// tcpListenAddr is h's loopback TCP listen address.
func tcpListenAddr(t *testing.T, h *Host) string {
	t.Helper()
	for _, a := range h.LibP2P().Addrs() {
		if _, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			return a.String()
		}
	}
	t.Fatalf("%s has no TCP address", h.ID())
	return ""
}

func TestRestart_DialsBackSavedPeers(t *testing.T) {
	dbA := openDB(t, tempDBPath(t))
	t.Cleanup(func() { dbA.Close() })
	a := newTestHost(t, nil, dbA, testConfig(t))

	pathB := tempDBPath(t)
	keyB := testKey(t)
	dbB := openDB(t, pathB)
	cfgB := testConfig(t)
	cfgB.BootNodes = a.Addresses()
	b, err := New(keyB, dbB, cfgB)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, b, a.ID())

	// Both sides save the other's listen addresses once identify has run; A
	// got an inbound connection from B's ephemeral port, and must not keep
	// that (quirk Q23). The store write has no event of its own.
	listenA, listenB := tcpListenAddr(t, a), tcpListenAddr(t, b)
	waitFor(t, "B to save A's listen address", func() bool { return slices.Contains(savedAddrs(t, b, a.ID()), listenA) })
	waitFor(t, "A to save B's listen address", func() bool { return slices.Contains(savedAddrs(t, a, b.ID()), listenB) })
	for _, addr := range savedAddrs(t, a, b.ID()) {
		if _, err := ma.NewMultiaddr(addr); err != nil {
			t.Errorf("saved address %q: %v", addr, err)
		}
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dbB.Close(); err != nil {
		t.Fatal(err)
	}

	restart := func(t *testing.T, noDialback bool) *Host {
		t.Helper()
		db := openDB(t, pathB)
		cfg := testConfig(t) // no boot nodes
		cfg.NoDialbackPeers = noDialback
		h := newTestHost(t, keyB, db, cfg) // Start dials back before it returns
		t.Cleanup(func() { db.Close() })   // runs after the host's Close
		if h.ID() != b.ID() {
			t.Fatalf("restarted with id %s, want %s", h.ID(), b.ID())
		}
		return h
	}

	t.Run("restarted node finds A from its store", func(t *testing.T) {
		b2 := restart(t, false)
		if !b2.Connected(a.ID()) {
			t.Fatal("restarted node did not dial back the saved boot node")
		}
		if err := b2.Close(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("NoDialbackPeers disables it", func(t *testing.T) {
		b3 := restart(t, true)
		// Start dials synchronously: had it dialled, it would be connected now.
		if b3.Connected(a.ID()) || len(b3.Peers()) != 0 {
			t.Fatalf("node with NoDialbackPeers connected to %v", b3.Peers())
		}
	})
}

func TestPeerRecord_LayoutAndFallback(t *testing.T) {
	db := openDB(t, tempDBPath(t))
	t.Cleanup(func() { db.Close() })
	h := newTestHost(t, nil, db, testConfig(t))

	id := testPeerID(t)
	addr := ma.StringCast("/ip4/10.0.0.2/tcp/9000")
	if err := h.savePeer(peerRecord{ID: id, MultiAddress: addr.String(), AddrInfo: peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{addr}}}); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := db.View(func(tx *bbolt.Tx) error {
		raw = append(raw, tx.Bucket(peerBucket).Get([]byte(id))...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"id":"%s","multiaddress":"/ip4/10.0.0.2/tcp/9000","addrinfo":{"ID":"%s","Addrs":["/ip4/10.0.0.2/tcp/9000"]}}`, id, id)
	if string(raw) != want {
		t.Errorf("stored value\n%s\nwant (spec §12)\n%s", raw, want)
	}

	// A record without AddrInfo addresses falls back to "multiaddress".
	other := testPeerID(t)
	value, _ := json.Marshal(map[string]any{"id": other, "multiaddress": "/ip4/10.0.0.3/tcp/9001", "addrinfo": map[string]any{"ID": other, "Addrs": nil}})
	info, err := decodePeerRecord([]byte(other), value)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Addrs) != 1 || info.Addrs[0].String() != "/ip4/10.0.0.3/tcp/9001" || info.ID != other {
		t.Errorf("fallback = %v", info)
	}
}

func TestStart_MustReachBootNodes(t *testing.T) {
	// A boot node nobody listens for: a closed loopback port.
	unreachable := fmt.Sprintf("/ip4/127.0.0.1/tcp/1/p2p/%s", testPeerID(t))
	cfg := testConfig(t)
	cfg.BootNodes = []string{unreachable}
	cfg.MustReachBootNodes = true
	h, err := New(testKey(t), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := h.Start(ctx); err == nil {
		t.Fatal("Start succeeded with an unreachable boot node and MustReachBootNodes")
	}

	cfg.MustReachBootNodes = false
	newTestHost(t, nil, nil, cfg) // only logged
}

// A boot node that starts listening after its peer (both started together) is reached soon,
// not a whole re-check interval later.
func TestStart_BootNodeThatComesUpLaterIsReachedSoon(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	bootKey := testKey(t)
	bootID, err := peer.IDFromPrivateKey(bootKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.BootNodes = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, bootID)}
	cfg.BootNodeRecheckInterval = time.Hour // only the early retries can connect within the test
	late := newTestHost(t, nil, nil, cfg)   // the first dial is refused: nobody listens yet

	bootCfg := testConfig(t)
	bootCfg.Port = uint(port)
	bootCfg.DisableQUIC = true
	newTestHost(t, bootKey, nil, bootCfg)
	waitConnected(t, late, bootID)
}
