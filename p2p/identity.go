package p2p

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Key file names written by WriteKeyFiles (the b7s keyforge layout, spec §1.1).
const (
	PrivKeyFile   = "priv.bin"
	PubKeyFile    = "pub.bin"
	PubKeyTxtFile = "pubkey.txt"
	IdentityFile  = "identity"
	PeerIDFile    = "peerid.txt"
)

// LoadKey reads a protobuf-encoded libp2p private key file (priv.bin).
func LoadKey(path string) (crypto.PrivKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	key, err := crypto.UnmarshalPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("decode key %s: %w", path, err)
	}
	return key, nil
}

// GenerateKey makes a new Ed25519 identity key.
func GenerateKey() (crypto.PrivKey, error) {
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return key, nil
}

// WriteKeyFiles writes priv.bin (0600), pub.bin (0644), pubkey.txt (standard
// base64 of pub.bin), identity and peerid.txt (the peer ID, no newline) into
// dir, creating dir if needed.
func WriteKeyFiles(dir string, key crypto.PrivKey) error {
	priv, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode private key: %w", err)
	}
	pub, err := crypto.MarshalPublicKey(key.GetPublic())
	if err != nil {
		return fmt.Errorf("encode public key: %w", err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return fmt.Errorf("derive peer id: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create key dir %s: %w", dir, err)
	}
	files := []struct {
		name string
		data []byte
		mode fs.FileMode
	}{
		{PrivKeyFile, priv, 0o600},
		{PubKeyFile, pub, 0o644},
		{PubKeyTxtFile, []byte(base64.StdEncoding.EncodeToString(pub)), 0o644},
		{IdentityFile, []byte(id.String()), 0o644},
		{PeerIDFile, []byte(id.String()), 0o644},
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// LoadOrCreateKeyFiles behaves like keyforge: it loads dir/priv.bin when it
// exists, or generates a new Ed25519 key, and then (re)writes all key files.
func LoadOrCreateKeyFiles(dir string) (crypto.PrivKey, error) {
	path := filepath.Join(dir, PrivKeyFile)
	key, err := LoadKey(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if key, err = GenerateKey(); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	if err := WriteKeyFiles(dir, key); err != nil {
		return nil, err
	}
	return key, nil
}

// writeFileAtomic writes through a temporary file and a rename, so a crash
// never leaves a truncated key file, and sets mode even when path existed.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	return nil
}
