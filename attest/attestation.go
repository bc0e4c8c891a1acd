package attest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Attribute is one name/value pair. Values are opaque text: matching compares bytes.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// String is name=value, as the format stores it.
func (a Attribute) String() string { return a.Name + "=" + a.Value }

// Signature is one signer and its signature, kept as the standard padded base64 text the file
// holds (the text, not the bytes, is what an attestor signs after the node).
type Signature struct {
	Signer    peer.ID `json:"signer"`
	Signature string  `json:"signature"`
}

// Attestation is the content of an attributes.bin. Order is kept everywhere. Signature is the
// node's own signature over the attributes (nil: unsigned); Attestors are third parties that
// signed the attributes and the node's signature.
//
// Decode keeps the original's nil-versus-empty shape: no signatures give Signature == nil and
// Attestors == nil, a node signature alone gives Attestors == nil.
type Attestation struct {
	Attributes []Attribute `json:"attributes"`
	Signature  *Signature  `json:"signature,omitempty"`
	Attestors  []Signature `json:"attestors,omitempty"`
}

// Separator joins records in the attribute block and fields in the signature section.
const Separator = 0x1F

// errNoAttributes: the format cannot hold an empty list (it would decode as one empty record).
var errNoAttributes = errors.New("an attestation needs at least one attribute")

// checkEncodable reports what the format cannot carry: no attributes, a name with '=' or the
// separator, a value with the separator (they would come back as different records), and
// attestors without a node signature (the original refuses them too).
func (a Attestation) checkEncodable() error {
	var errs []error
	if len(a.Attributes) == 0 {
		errs = append(errs, errNoAttributes)
	}
	for i, attr := range a.Attributes {
		if strings.ContainsAny(attr.Name, "=\x1f") {
			errs = append(errs, fmt.Errorf("attribute %d (%q): a name cannot contain '=' or the 0x1F separator", i, attr.Name))
		}
		if strings.ContainsRune(attr.Value, Separator) {
			errs = append(errs, fmt.Errorf("attribute %d (%q): a value cannot contain the 0x1F separator", i, attr.Name))
		}
	}
	if len(a.Attestors) > 0 && a.Signature == nil {
		errs = append(errs, errors.New("attestors need a node signature to attest"))
	}
	for _, s := range a.signatures() {
		if s.Signer == "" {
			errs = append(errs, errors.New("a signature has no signer"))
		}
		if strings.ContainsRune(s.Signature, Separator) {
			errs = append(errs, fmt.Errorf("signature of %s contains the 0x1F separator", s.Signer))
		}
	}
	return errors.Join(errs...)
}

// signatures is the node signature (if any) then the attestors.
func (a Attestation) signatures() []Signature {
	var out []Signature
	if a.Signature != nil {
		out = append(out, *a.Signature)
	}
	return append(out, a.Attestors...)
}

// plainBytes is the attribute block before compression and the payload the node signs:
// name=value records joined by the separator, no trailing separator, no escaping.
func (a Attestation) plainBytes() []byte {
	n := 0
	for _, attr := range a.Attributes {
		n += len(attr.Name) + 1 + len(attr.Value) + 1
	}
	b := make([]byte, 0, n)
	for i, attr := range a.Attributes {
		if i > 0 {
			b = append(b, Separator)
		}
		b = append(b, attr.Name...)
		b = append(b, '=')
		b = append(b, attr.Value...)
	}
	return b
}
