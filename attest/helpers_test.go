package attest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// seedKey is the Ed25519 key whose 32-byte seed is b repeated: the worked example's keys are
// seedKey(0) (the node) and seedKey(1) (the attestor).
func seedKey(t testing.TB, b byte) crypto.PrivKey {
	t.Helper()
	key, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newKey(t testing.TB, typ int) crypto.PrivKey {
	t.Helper()
	var key crypto.PrivKey
	var err error
	switch typ {
	case crypto.ECDSA:
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err == nil {
			key, _, err = crypto.ECDSAKeyPairFromKey(k)
		}
	default:
		key, _, err = crypto.GenerateKeyPair(typ, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func idOf(t testing.TB, key crypto.PrivKey) peer.ID {
	t.Helper()
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func attrs(pairs ...string) []Attribute {
	var out []Attribute
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Attribute{Name: pairs[i], Value: pairs[i+1]})
	}
	return out
}

// signed is an attestation of pairs signed by node and attested by each of attestors.
func signed(t testing.TB, node crypto.PrivKey, attestors []crypto.PrivKey, pairs ...string) Attestation {
	t.Helper()
	a := Attestation{Attributes: attrs(pairs...)}
	if err := Sign(&a, node); err != nil {
		t.Fatal(err)
	}
	for _, k := range attestors {
		if err := AddAttestor(&a, k); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

var zeroTime time.Time
