package messages

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Peer IDs of the spec's examples: Ed25519 keys whose 32-byte seed is one repeated byte.
const (
	headID   = "12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5" // seed 0x01
	worker1  = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq" // seed 0x02
	worker2  = "12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba" // seed 0x03
	worker3  = "12D3KooWPT98FXMfDQYavZm66EeVjTqP9Nnehn1gyaydqV8L8BQw" // seed 0x04
	ident1   = "12D3KooWH9GerdSEroL2nqjpd2GuE5dwmqNi7uHX7FoywBdKcP4q" // configs/testkeys/ident1
	testCID  = "bafybeia24v4czavtpjv2co3j54o4a5ztduqcpyyinerjgncx7s2s22s7ea"
	testUUID = "b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c"
)

func testKey(t testing.TB, seed byte) crypto.PrivKey {
	t.Helper()
	key, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatalf("key from seed %d: %v", seed, err)
	}
	return key
}

func mustPeer(t testing.TB, s string) peer.ID {
	t.Helper()
	id, err := peer.Decode(s)
	if err != nil {
		t.Fatalf("decode peer ID %q: %v", s, err)
	}
	return id
}

func pubKeyOf(t testing.TB, s string) crypto.PubKey {
	t.Helper()
	key, err := mustPeer(t, s).ExtractPublicKey()
	if err != nil {
		t.Fatalf("public key of %s: %v", s, err)
	}
	return key
}

// golden reads a testdata file without its trailing newline.
func golden(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read golden: %v", err)
	}
	return bytes.TrimRight(data, "\n")
}

func goldenFiles(t testing.TB, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		t.Fatalf("no golden files match %s: %v", pattern, err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

func peersOf(t testing.TB, ids ...string) []peer.ID {
	t.Helper()
	out := make([]peer.ID, len(ids))
	for i, s := range ids {
		out[i] = mustPeer(t, s)
	}
	return out
}
