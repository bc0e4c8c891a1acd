package messages

import (
	"encoding/hex"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// Sign sets the request signature (spec §3.4): the key's signature over SigningPayload, in
// lowercase hex. The head signs PBFT requests; replicas verify with the head's peer ID key.
func (r *Request) Sign(key crypto.PrivKey) error {
	sig, err := signPayload(r.SigningPayload, key)
	if err != nil {
		return fmt.Errorf("sign request %s: %w", r.FunctionID, err)
	}
	r.Signature = sig
	return nil
}

// VerifySignature checks the request signature against key (the origin's).
func (r Request) VerifySignature(key crypto.PubKey) error {
	if err := verifyPayload(r.SigningPayload, r.Signature, key); err != nil {
		return fmt.Errorf("verify request %s: %w", r.FunctionID, err)
	}
	return nil
}

// Sign sets the result signature (spec §3.4); only PBFT results are signed.
func (r *NodeResult) Sign(key crypto.PrivKey) error {
	sig, err := signPayload(r.SigningPayload, key)
	if err != nil {
		return fmt.Errorf("sign result: %w", err)
	}
	r.Signature = sig
	return nil
}

// VerifySignature checks the result signature against key (the sender's).
func (r NodeResult) VerifySignature(key crypto.PubKey) error {
	if err := verifyPayload(r.SigningPayload, r.Signature, key); err != nil {
		return fmt.Errorf("verify result: %w", err)
	}
	return nil
}

func signPayload(payload func() ([]byte, error), key crypto.PrivKey) (string, error) {
	b, err := payload()
	if err != nil {
		return "", err
	}
	sig, err := key.Sign(b)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sig), nil
}

func verifyPayload(payload func() ([]byte, error), signature string, key crypto.PubKey) error {
	if signature == "" {
		return fmt.Errorf("%w: no signature", ErrBadSignature)
	}
	sig, err := hex.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	b, err := payload()
	if err != nil {
		return err
	}
	ok, err := key.Verify(b, sig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if !ok {
		return fmt.Errorf("%w: does not verify", ErrBadSignature)
	}
	return nil
}
