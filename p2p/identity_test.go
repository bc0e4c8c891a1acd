package p2p

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestKeyFiles_WriteReloadAndByteLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys") // WriteKeyFiles creates it
	key := testKey(t)
	if err := WriteKeyFiles(dir, key); err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}

	read := func(name string) ([]byte, os.FileMode) {
		t.Helper()
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return data, st.Mode().Perm()
	}

	priv, mode := read(PrivKeyFile)
	if len(priv) != 68 || !bytes.HasPrefix(priv, []byte{0x08, 0x01, 0x12, 0x40}) {
		t.Errorf("priv.bin = %d bytes % x..., want 68 bytes starting 08 01 12 40", len(priv), priv[:min(4, len(priv))])
	}
	if mode != 0o600 {
		t.Errorf("priv.bin mode = %v, want 0600", mode)
	}
	pub, mode := read(PubKeyFile)
	if len(pub) != 36 || !bytes.HasPrefix(pub, []byte{0x08, 0x01, 0x12, 0x20}) {
		t.Errorf("pub.bin = %d bytes % x..., want 36 bytes starting 08 01 12 20", len(pub), pub[:min(4, len(pub))])
	}
	if mode != 0o644 {
		t.Errorf("pub.bin mode = %v, want 0644", mode)
	}
	// The Ed25519 seed is followed by the public key in priv.bin.
	if !bytes.Equal(priv[36:], pub[4:]) {
		t.Error("priv.bin does not end with the public key of pub.bin")
	}
	if txt, _ := read(PubKeyTxtFile); string(txt) != base64.StdEncoding.EncodeToString(pub) {
		t.Errorf("pubkey.txt = %q, want std base64 of pub.bin", txt)
	}
	for _, name := range []string{IdentityFile, PeerIDFile} {
		if got, _ := read(name); string(got) != id.String() {
			t.Errorf("%s = %q, want %q (no newline)", name, got, id)
		}
	}
	// Peer ID = identity multihash of the protobuf public key.
	if raw := []byte(id); !bytes.Equal(raw, append([]byte{0x00, 0x24}, pub...)) {
		t.Errorf("peer id bytes = % x, want 00 24 + pub.bin", raw)
	}

	loaded, err := LoadKey(filepath.Join(dir, PrivKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Equals(key) {
		t.Error("reloaded key differs from the written one")
	}
}

func TestLoadOrCreateKeyFiles_ReusesExistingPrivBin(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateKeyFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Lose a derived file: the next call must rewrite it from the same key.
	if err := os.Remove(filepath.Join(dir, PeerIDFile)); err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreateKeyFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equals(second) {
		t.Fatal("LoadOrCreateKeyFiles generated a new key although priv.bin existed")
	}
	id, _ := peer.IDFromPrivateKey(first)
	got, err := os.ReadFile(filepath.Join(dir, PeerIDFile))
	if err != nil || string(got) != id.String() {
		t.Fatalf("peerid.txt = %q, %v; want %q", got, err, id)
	}
}

func TestLoadKey_RejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), PrivKeyFile)
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil {
		t.Fatal("LoadKey accepted garbage")
	}
	if _, err := LoadKey(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("LoadKey accepted a missing file")
	}
}
