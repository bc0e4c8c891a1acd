package attest

import (
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	pb "github.com/libp2p/go-libp2p/core/crypto/pb"
)

func TestVerify_AcceptsEd25519AndSecp256k1Signers(t *testing.T) {
	ed, k1 := newKey(t, crypto.Ed25519), newKey(t, crypto.Secp256k1)
	for name, a := range map[string]Attestation{
		"unsigned":                     {Attributes: attrs("a", "1")},
		"ed25519 node":                 signed(t, ed, nil, "a", "1"),
		"secp256k1 node":               signed(t, k1, nil, "a", "1"),
		"ed25519 node, both attestors": signed(t, ed, []crypto.PrivKey{k1, seedKey(t, 1)}, "a", "1"),
		"secp256k1 node and attestor":  signed(t, k1, []crypto.PrivKey{newKey(t, crypto.Secp256k1)}, "a", "1"),
	} {
		if err := Verify(a); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestVerify_RefusesNamingEveryEntryThatFails(t *testing.T) {
	node, a1, a2 := seedKey(t, 0), seedKey(t, 1), newKey(t, crypto.Secp256k1)
	good := signed(t, node, []crypto.PrivKey{a1, a2}, "region", "eu")
	nodeID, a1ID, a2ID := idOf(t, node), idOf(t, a1), idOf(t, a2)

	type mutate func(a *Attestation)
	cases := []struct {
		name   string
		mutate mutate
		want   []string // every one must appear
		absent []string // none may appear
	}{
		{"an attribute changed: every signature fails", func(a *Attestation) { a.Attributes[0].Value = "us" },
			[]string{"node signature by " + nodeID.String() + ": the signature does not match",
				"attestor 1 by " + a1ID.String(), "attestor 2 by " + a2ID.String()}, nil},
		{"one attestor's signature replaced", func(a *Attestation) { a.Attestors[1].Signature = a.Attestors[0].Signature },
			[]string{"attestor 2 by " + a2ID.String()}, []string{"node signature", "attestor 1"}},
		{"an attestor claims another's signature", func(a *Attestation) { a.Attestors[0].Signer = a2ID },
			[]string{"attestor 1 by " + a2ID.String() + ": the signature does not match"}, []string{"attestor 2"}},
		{"signature is not base64", func(a *Attestation) { a.Attestors[0].Signature = "not base64!" },
			[]string{"attestor 1 by " + a1ID.String() + ": the signature is not base64"}, nil},
		{"empty signature", func(a *Attestation) { a.Signature.Signature = "" },
			[]string{"node signature by " + nodeID.String()}, nil},
		{"attestors without a node signature", func(a *Attestation) { a.Signature = nil },
			[]string{"attestors without a node signature"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := good
			a.Attributes = append([]Attribute(nil), good.Attributes...)
			sig := *good.Signature
			a.Signature = &sig
			a.Attestors = append([]Signature(nil), good.Attestors...)
			c.mutate(&a)
			err := Verify(a)
			if err == nil {
				t.Fatal("verified")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range c.absent {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q names %q, which verifies", err, w)
				}
			}
		})
	}
	if err := Verify(good); err != nil {
		t.Fatalf("the mutations changed the original: %v", err)
	}
}

// RSA and ECDSA peer IDs are hashes of the key: a signature by one cannot be checked from the
// file, so it is refused (the original's Validate fails on them too).
func TestVerify_RefusesSignersWhoseIDHidesTheKey(t *testing.T) {
	for _, typ := range []int{crypto.RSA, crypto.ECDSA} {
		key := newKey(t, typ)
		a := signed(t, key, nil, "a", "1")
		err := Verify(a)
		if err == nil || !strings.Contains(err.Error(), "the key cannot be taken from the peer ID") {
			t.Errorf("%s: %v", pb.KeyType(typ), err)
		}
		withAttestor := signed(t, seedKey(t, 0), []crypto.PrivKey{key}, "a", "1")
		if err := Verify(withAttestor); err == nil || !strings.Contains(err.Error(), "attestor 1 by "+idOf(t, key).String()) {
			t.Errorf("%s attestor: %v", pb.KeyType(typ), err)
		}
	}
}

func TestAddAttestor_NeedsANodeSignatureAndRefusesASecondTime(t *testing.T) {
	a := Attestation{Attributes: attrs("a", "1")}
	if err := AddAttestor(&a, seedKey(t, 1)); err == nil || !strings.Contains(err.Error(), "no node signature") {
		t.Fatalf("unsigned: %v", err)
	}
	a = signed(t, seedKey(t, 0), []crypto.PrivKey{seedKey(t, 1)}, "a", "1")
	if err := AddAttestor(&a, seedKey(t, 1)); err == nil || !strings.Contains(err.Error(), "already attested") {
		t.Fatalf("twice: %v", err)
	}
	if len(a.Attestors) != 1 {
		t.Fatalf("attestors %v", a.Attestors)
	}
}

// Re-signing keeps attestors, as the original's `update sign` does; with Ed25519 the same
// attributes give the same signature, so they still verify, and changed attributes do not.
func TestSign_KeepsAttestors(t *testing.T) {
	a := signed(t, seedKey(t, 0), []crypto.PrivKey{seedKey(t, 1)}, "a", "1")
	if err := Sign(&a, seedKey(t, 0)); err != nil || Verify(a) != nil || len(a.Attestors) != 1 {
		t.Fatalf("re-sign: %v %v", err, Verify(a))
	}
	a.Attributes[0].Value = "2"
	if err := Sign(&a, seedKey(t, 0)); err != nil {
		t.Fatal(err)
	}
	if err := Verify(a); err == nil || !strings.Contains(err.Error(), "attestor 1") || strings.Contains(err.Error(), "node signature") {
		t.Fatalf("changed attributes: %v", err)
	}
}
