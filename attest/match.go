package attest

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// Reason says why a worker's attestation does not satisfy a roll call's attributes. Its values
// are the reason label of b7s_node_rollcalls_skipped.
type Reason string

// The reasons, in the order the rules are checked (spec §4.4 step 2).
const (
	Matched           Reason = ""
	NoAttestation     Reason = "no_attestation"    // the roll call has attributes; this node loaded no attestation
	NotAttested       Reason = "not_attested"      // attestation_required, and no attestor signed
	AttestorMissing   Reason = "attestor_each"     // an attestors.each peer did not sign
	NoAttestorOf      Reason = "attestor_one_of"   // none of attestors.one_of signed
	AttributeMissing  Reason = "attribute_missing" // a wanted name is not among the attributes
	AttributeMismatch Reason = "attribute_value"   // a wanted name has another value
)

// Mismatch is the outcome of Match: Reason is Matched when the attestation satisfies the
// request; otherwise Name or Attestor say which part failed (for logs).
type Mismatch struct {
	Reason   Reason
	Name     string  // AttributeMissing, AttributeMismatch
	Attestor peer.ID // AttestorMissing
}

// OK reports a match.
func (m Mismatch) OK() bool { return m.Reason == Matched }

func (m Mismatch) String() string {
	switch m.Reason {
	case Matched:
		return "matched"
	case AttestorMissing:
		return fmt.Sprintf("%s: %s did not attest", m.Reason, m.Attestor)
	case AttributeMissing, AttributeMismatch:
		return fmt.Sprintf("%s: %q", m.Reason, m.Name)
	}
	return string(m.Reason)
}

// Index is an attestation prepared for matching: built once when it is loaded, read by every
// roll call without allocating.
type Index struct {
	values    map[string]string
	attestors map[peer.ID]struct{}
}

// NewIndex prepares a for Match. For duplicate names the last value wins, as in the original.
// Only attestors count as signers: the node's own signature attests nothing.
func NewIndex(a Attestation) *Index {
	ix := &Index{values: make(map[string]string, len(a.Attributes)), attestors: make(map[peer.ID]struct{}, len(a.Attestors))}
	for _, attr := range a.Attributes {
		ix.values[attr.Name] = attr.Value
	}
	for _, s := range a.Attestors {
		ix.attestors[s.Signer] = struct{}{}
	}
	return ix
}

// Match applies the roll-call rules of spec §4.4 step 2 to the attestation ix (nil: none
// loaded) and the attributes a roll call asks for (nil: none asked). The first rule that fails
// is the reason:
//
//   - attributes asked of a node without an attestation never match, even an empty {};
//   - attestation_required needs at least one attestor;
//   - every attestors.each peer must be an attestor; a non-empty attestors.one_of needs at least
//     one of its peers to be one (so each and one_of need attestors without attestation_required);
//   - every values pair must equal an attribute, name and value, byte for byte: case matters and
//     nothing is trimmed; {} in values asks for an empty name with an empty value.
//
// Empty lists ask for nothing. Duplicates in the request change nothing, except that one name
// asked with two values can never match. Peer IDs compare as decoded multihashes, so the
// base58 and CID forms of one ID are the same attestor.
func (ix *Index) Match(want *messages.Attributes) Mismatch {
	if want == nil {
		return Mismatch{}
	}
	if ix == nil {
		return Mismatch{Reason: NoAttestation}
	}
	if want.AttestationRequired && len(ix.attestors) == 0 {
		return Mismatch{Reason: NotAttested}
	}
	for _, id := range want.Attestors.Each {
		if _, ok := ix.attestors[id]; !ok {
			return Mismatch{Reason: AttestorMissing, Attestor: id}
		}
	}
	if len(want.Attestors.OneOf) > 0 && !ix.anyAttestor(want.Attestors.OneOf) {
		return Mismatch{Reason: NoAttestorOf}
	}
	for _, p := range want.Values {
		v, ok := ix.values[p.Name]
		if !ok {
			return Mismatch{Reason: AttributeMissing, Name: p.Name}
		}
		if v != p.Value {
			return Mismatch{Reason: AttributeMismatch, Name: p.Name}
		}
	}
	return Mismatch{}
}

func (ix *Index) anyAttestor(ids []peer.ID) bool {
	for _, id := range ids {
		if _, ok := ix.attestors[id]; ok {
			return true
		}
	}
	return false
}
