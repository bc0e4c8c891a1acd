package attest

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// What is signed (as in the original b7s-attributes format):
//   - the node signs the plain attribute bytes;
//   - an attestor signs the plain attribute bytes followed directly by the node's base58 ID,
//     0x1F and the node signature's base64 text: exactly the node's part of the signature
//     section. Attestors do not sign each other, so one can be removed without breaking the rest.

// Sign sets the node signature: key signs the attributes. Attestors already present are kept,
// as the original's `update sign` keeps them; they verify only if the signature is unchanged
// (Ed25519 signatures are deterministic, so re-signing the same attributes with the same key is).
func Sign(a *Attestation, key crypto.PrivKey) error {
	sig, err := sign(key, a.plainBytes())
	if err != nil {
		return fmt.Errorf("sign attributes: %w", err)
	}
	a.Signature = &sig
	return nil
}

// AddAttestor appends key's attestation. The attestation must carry a node signature (what the
// attestor vouches for); an attestor already present is refused rather than listed twice.
func AddAttestor(a *Attestation, key crypto.PrivKey) error {
	if a.Signature == nil {
		return errors.New("attest: the attestation has no node signature to attest")
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	for _, s := range a.Attestors {
		if s.Signer == id {
			return fmt.Errorf("attest: %s has already attested", id)
		}
	}
	sig, err := sign(key, a.attestPayload())
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	a.Attestors = append(a.Attestors, sig)
	return nil
}

func sign(key crypto.PrivKey, payload []byte) (Signature, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return Signature{}, err
	}
	raw, err := key.Sign(payload)
	if err != nil {
		return Signature{}, err
	}
	return Signature{Signer: id, Signature: base64.StdEncoding.EncodeToString(raw)}, nil
}

// attestPayload is what attestors sign; call it only with a node signature set.
func (a Attestation) attestPayload() []byte {
	b := a.plainBytes()
	b = append(b, a.Signature.Signer.String()...)
	b = append(b, Separator)
	return append(b, a.Signature.Signature...)
}

// Verify checks every signature of a with the public key its signer's peer ID embeds, which
// only Ed25519 and secp256k1 IDs do (RSA and ECDSA IDs are hashes and cannot be checked). An
// unsigned attestation verifies; attestors without a node signature do not. Every failure is
// reported, each naming its entry ("node signature", "attestor 2") and signer.
//
// The original never runs this on load (its node imports without checking); this node refuses
// an attestation that fails it.
func Verify(a Attestation) error {
	if a.Signature == nil {
		if len(a.Attestors) > 0 {
			return errors.New("verify attestation: attestors without a node signature")
		}
		return nil
	}
	plain := a.plainBytes()
	errs := []error{verifyOne(entryName(0), *a.Signature, plain)}
	payload := a.attestPayload()
	for i, s := range a.Attestors {
		errs = append(errs, verifyOne(entryName(i+1), s, payload))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("verify attestation: %w", err)
	}
	return nil
}

func verifyOne(entry string, s Signature, payload []byte) error {
	pub, err := s.Signer.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("%s by %s: the key cannot be taken from the peer ID (only Ed25519 and secp256k1 IDs embed it): %w", entry, s.Signer, err)
	}
	raw, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil {
		return fmt.Errorf("%s by %s: the signature is not base64: %w", entry, s.Signer, err)
	}
	ok, err := pub.Verify(payload, raw)
	if err != nil {
		return fmt.Errorf("%s by %s: the signature does not match: %w", entry, s.Signer, err)
	}
	if !ok {
		return fmt.Errorf("%s by %s: the signature does not match", entry, s.Signer)
	}
	return nil
}
