package attest

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

func TestMatch_Rules(t *testing.T) {
	node, x, y, z := seedKey(t, 0), seedKey(t, 1), seedKey(t, 2), seedKey(t, 3)
	X, Y, Z, N := idOf(t, x), idOf(t, y), idOf(t, z), idOf(t, node)
	// The worker's attestation: region=eu, tier=GOLD, an empty-named attribute, and a name
	// given twice; attested by X and Y.
	attested := NewIndex(signed(t, node, []crypto.PrivKey{x, y}, "region", "eu", "tier", "GOLD", "", "", "dup", "first", "dup", "last"))
	selfSigned := NewIndex(signed(t, node, nil, "region", "eu"))
	unsigned := NewIndex(Attestation{Attributes: attrs("region", "eu")})

	vals := func(pairs ...string) []messages.Parameter {
		var out []messages.Parameter
		for i := 0; i+1 < len(pairs); i += 2 {
			out = append(out, messages.Parameter{Name: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	ids := func(ids ...peer.ID) []peer.ID { return ids }
	cidForm := func(id peer.ID) peer.ID {
		back, err := peer.FromCid(peer.ToCid(id))
		if err != nil {
			t.Fatal(err)
		}
		return back
	}

	cases := []struct {
		name string
		have *Index
		want *messages.Attributes
		out  Mismatch
	}{
		// No requirement.
		{"no attributes, no attestation", nil, nil, Mismatch{}},
		{"no attributes, attested", attested, nil, Mismatch{}},
		// Spec §4.4: attributes, even {}, need a loaded attestation.
		{"empty {} without an attestation", nil, &messages.Attributes{}, Mismatch{Reason: NoAttestation}},
		{"values without an attestation", nil, &messages.Attributes{Values: vals("region", "eu")}, Mismatch{Reason: NoAttestation}},
		{"empty {} with an unsigned attestation", unsigned, &messages.Attributes{}, Mismatch{}},
		{"empty lists ask for nothing", attested, &messages.Attributes{Values: []messages.Parameter{},
			Attestors: messages.Attestors{Each: []peer.ID{}, OneOf: []peer.ID{}}}, Mismatch{}},

		// Values: exact, byte for byte.
		{"value matches", attested, &messages.Attributes{Values: vals("region", "eu")}, Mismatch{}},
		{"all values match", attested, &messages.Attributes{Values: vals("tier", "GOLD", "region", "eu")}, Mismatch{}},
		{"value differs", attested, &messages.Attributes{Values: vals("region", "us")}, Mismatch{Reason: AttributeMismatch, Name: "region"}},
		{"one of two values differs", attested, &messages.Attributes{Values: vals("region", "eu", "tier", "SILVER")}, Mismatch{Reason: AttributeMismatch, Name: "tier"}},
		{"name missing", attested, &messages.Attributes{Values: vals("gpu", "yes")}, Mismatch{Reason: AttributeMissing, Name: "gpu"}},
		{"value case matters", attested, &messages.Attributes{Values: vals("tier", "gold")}, Mismatch{Reason: AttributeMismatch, Name: "tier"}},
		{"name case matters", attested, &messages.Attributes{Values: vals("Region", "eu")}, Mismatch{Reason: AttributeMissing, Name: "Region"}},
		{"no trimming", attested, &messages.Attributes{Values: vals("region", "eu ")}, Mismatch{Reason: AttributeMismatch, Name: "region"}},
		{"{} in values asks for the empty name with an empty value", attested, &messages.Attributes{Values: vals("", "")}, Mismatch{}},
		{"{} in values and no empty name", selfSigned, &messages.Attributes{Values: vals("", "")}, Mismatch{Reason: AttributeMissing}},
		{"a name given twice in the file: the last wins", attested, &messages.Attributes{Values: vals("dup", "last")}, Mismatch{}},
		{"a name given twice in the file: the first is gone", attested, &messages.Attributes{Values: vals("dup", "first")}, Mismatch{Reason: AttributeMismatch, Name: "dup"}},
		{"the same pair asked twice", attested, &messages.Attributes{Values: vals("region", "eu", "region", "eu")}, Mismatch{}},
		{"one name asked with two values never matches", attested, &messages.Attributes{Values: vals("region", "eu", "region", "us")}, Mismatch{Reason: AttributeMismatch, Name: "region"}},
		{"unsigned attestation serves values", unsigned, &messages.Attributes{Values: vals("region", "eu")}, Mismatch{}},

		// attestation_required.
		{"attestation required, attested", attested, &messages.Attributes{AttestationRequired: true}, Mismatch{}},
		{"attestation required, only the node signed", selfSigned, &messages.Attributes{AttestationRequired: true, Values: vals("region", "eu")}, Mismatch{Reason: NotAttested}},
		{"attestation required, unsigned", unsigned, &messages.Attributes{AttestationRequired: true}, Mismatch{Reason: NotAttested}},

		// attestors.each.
		{"each: all signed", attested, &messages.Attributes{Attestors: messages.Attestors{Each: ids(X, Y)}}, Mismatch{}},
		{"each: one missing", attested, &messages.Attributes{Attestors: messages.Attestors{Each: ids(X, Z)}}, Mismatch{Reason: AttestorMissing, Attestor: Z}},
		{"each: duplicates change nothing", attested, &messages.Attributes{Attestors: messages.Attestors{Each: ids(X, X, Y)}}, Mismatch{}},
		{"each: the node's own signature is not an attestation", attested, &messages.Attributes{Attestors: messages.Attestors{Each: ids(N)}}, Mismatch{Reason: AttestorMissing, Attestor: N}},
		{"each without attestation_required still needs attestors", selfSigned, &messages.Attributes{Attestors: messages.Attestors{Each: ids(X)}}, Mismatch{Reason: AttestorMissing, Attestor: X}},
		{"each: the CID form of an ID is the same attestor", attested, &messages.Attributes{Attestors: messages.Attestors{Each: ids(cidForm(X))}}, Mismatch{}},

		// attestors.one_of.
		{"one_of: one of them signed", attested, &messages.Attributes{Attestors: messages.Attestors{OneOf: ids(Z, Y)}}, Mismatch{}},
		{"one_of: none signed", attested, &messages.Attributes{Attestors: messages.Attestors{OneOf: ids(Z, N)}}, Mismatch{Reason: NoAttestorOf}},
		{"one_of: duplicates change nothing", attested, &messages.Attributes{Attestors: messages.Attestors{OneOf: ids(Z, Z, X)}}, Mismatch{}},
		{"one_of without attestation_required still needs attestors", unsigned, &messages.Attributes{Attestors: messages.Attestors{OneOf: ids(X)}}, Mismatch{Reason: NoAttestorOf}},

		// Order: the first failing rule is the reason.
		{"everything asked and given", attested, &messages.Attributes{AttestationRequired: true, Values: vals("region", "eu"),
			Attestors: messages.Attestors{Each: ids(X), OneOf: ids(Z, Y)}}, Mismatch{}},
		{"attestors are checked before values", attested, &messages.Attributes{Values: vals("region", "us"),
			Attestors: messages.Attestors{OneOf: ids(Z)}}, Mismatch{Reason: NoAttestorOf}},
		{"each before one_of", attested, &messages.Attributes{Attestors: messages.Attestors{Each: ids(Z), OneOf: ids(N)}}, Mismatch{Reason: AttestorMissing, Attestor: Z}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.have.Match(c.want); got != c.out {
				t.Fatalf("Match = %v, want %v", got, c.out)
			}
		})
	}
}

// A nil *Loaded is no attestation; a loaded one matches through its index.
func TestLoaded_Match(t *testing.T) {
	var none *Loaded
	if got := none.Match(&messages.Attributes{}); got.Reason != NoAttestation {
		t.Fatalf("nil: %v", got)
	}
	if got := none.Match(nil); !got.OK() {
		t.Fatalf("nil, no attributes: %v", got)
	}
	node := seedKey(t, 0)
	l, err := NewLoaded(signed(t, node, nil, "region", "eu"), idOf(t, node), "test", [32]byte{}, zeroTime)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Match(&messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "eu"}}}); !got.OK() {
		t.Fatalf("loaded: %v", got)
	}
}
