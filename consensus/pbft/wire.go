package pbft

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// ProtocolPrefix starts the protocol of a request's cluster: ProtocolPrefix + request ID. One
// JSON message per stream, closed after writing (spec §6, framing as §1.3).
const ProtocolPrefix = "/b7s/consensus/pbft/1.0.0/cluster/"

// MessageType is the envelope's "type" (spec §6).
type MessageType uint

// The message types of spec §6.
const (
	TypeRequest MessageType = iota + 1
	TypePrePrepare
	TypePrepare
	TypeCommit
	TypeViewChange
	TypeNewView
)

// String names the type for logs and metric labels.
func (t MessageType) String() string {
	switch t {
	case TypeRequest:
		return "Request"
	case TypePrePrepare:
		return "PrePrepare"
	case TypePrepare:
		return "Prepare"
	case TypeCommit:
		return "Commit"
	case TypeViewChange:
		return "ViewChange"
	case TypeNewView:
		return "NewView"
	}
	return fmt.Sprintf("type(%d)", uint(t))
}

// Message is one PBFT message. Each marshals as its envelope, {"type":n,"data":{…}}, nested
// ones too.
type Message interface {
	Type() MessageType
}

// Signed is a message that carries its sender's signature.
type Signed interface {
	Message
	signature() string
	setSignature(string)
}

// envelope is the wire form of every message.
type envelope struct {
	Type MessageType     `json:"type"`
	Data json.RawMessage `json:"data"`
}

func marshalEnvelope(t MessageType, data any) ([]byte, error) {
	d, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(envelope{Type: t, Data: d})
}

// unmarshalEnvelope checks the envelope is of type want and decodes its data into into.
func unmarshalEnvelope(b []byte, want MessageType, into any) error {
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return err
	}
	if e.Type != want {
		return fmt.Errorf("%w: %s where %s belongs", ErrWrongType, e.Type, want)
	}
	if len(e.Data) == 0 || string(e.Data) == "null" {
		return fmt.Errorf("%s without data", want)
	}
	return json.Unmarshal(e.Data, into)
}

// ErrWrongType: an envelope of one type where another belongs.
var ErrWrongType = errors.New("wrong message type")

// ErrUnknownType: an envelope whose type is none of spec §6's.
var ErrUnknownType = errors.New("unknown pbft message type")

// Request is the head's request as replicas order it. The null request of a NewView's gap is
// the zero Request (digest ""): it writes "origin":"", which the original cannot decode (quirk
// Q13) and this node can.
type Request struct {
	messages.TraceInfo
	ID        string           `json:"id"`
	Timestamp time.Time        `json:"timestamp"`
	Origin    peer.ID          `json:"origin"`
	Execute   messages.Request `json:"execute"`
}

func (Request) Type() MessageType { return TypeRequest }

// IsNull says whether r is the null request.
func (r Request) IsNull() bool { return r.ID == "" && r.Origin == "" }

func (r Request) MarshalJSON() ([]byte, error) {
	type alias Request
	return marshalEnvelope(r.Type(), alias(r))
}

func (r *Request) UnmarshalJSON(b []byte) error {
	// Origin as a string first: "" (the null request) is not a peer ID.
	type alias struct {
		messages.TraceInfo
		ID        string           `json:"id"`
		Timestamp time.Time        `json:"timestamp"`
		Origin    string           `json:"origin"`
		Execute   messages.Request `json:"execute"`
	}
	var a alias
	if err := unmarshalEnvelope(b, TypeRequest, &a); err != nil {
		return err
	}
	var origin peer.ID
	if a.Origin != "" {
		id, err := peer.Decode(a.Origin)
		if err != nil {
			return fmt.Errorf("request origin: %w", err)
		}
		origin = id
	}
	*r = Request{TraceInfo: a.TraceInfo, ID: a.ID, Timestamp: a.Timestamp, Origin: origin, Execute: a.Execute}
	return nil
}

// Digest is the request's digest: lowercase hex SHA-256 of its envelope's Go JSON (spec §6).
// The null request's is "".
func (r Request) Digest() (string, error) {
	if r.IsNull() {
		return "", nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("digest of request %s: %w", r.ID, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// PrePrepare is the primary's proposal of a request at a sequence number.
type PrePrepare struct {
	View           uint    `json:"view"`
	SequenceNumber uint    `json:"sequence_number"`
	Digest         string  `json:"digest"`
	Request        Request `json:"request"`
	Signature      string  `json:"signature,omitempty"`
}

func (PrePrepare) Type() MessageType        { return TypePrePrepare }
func (m PrePrepare) signature() string      { return m.Signature }
func (m *PrePrepare) setSignature(s string) { m.Signature = s }

func (m PrePrepare) MarshalJSON() ([]byte, error) {
	type alias PrePrepare
	return marshalEnvelope(m.Type(), alias(m))
}

func (m *PrePrepare) UnmarshalJSON(b []byte) error {
	type alias PrePrepare
	var a alias
	if err := unmarshalEnvelope(b, TypePrePrepare, &a); err != nil {
		return err
	}
	*m = PrePrepare(a)
	return nil
}

// Prepare is a backup's vote for a pre-prepare.
type Prepare struct {
	View           uint   `json:"view"`
	SequenceNumber uint   `json:"sequence_number"`
	Digest         string `json:"digest"`
	Signature      string `json:"signature,omitempty"`
}

func (Prepare) Type() MessageType        { return TypePrepare }
func (m Prepare) signature() string      { return m.Signature }
func (m *Prepare) setSignature(s string) { m.Signature = s }

func (m Prepare) MarshalJSON() ([]byte, error) {
	type alias Prepare
	return marshalEnvelope(m.Type(), alias(m))
}

func (m *Prepare) UnmarshalJSON(b []byte) error {
	type alias Prepare
	var a alias
	if err := unmarshalEnvelope(b, TypePrepare, &a); err != nil {
		return err
	}
	*m = Prepare(a)
	return nil
}

// Commit is a replica's vote to commit a prepared request.
type Commit struct {
	View           uint   `json:"view"`
	SequenceNumber uint   `json:"sequence_number"`
	Digest         string `json:"digest"`
	Signature      string `json:"signature,omitempty"`
}

func (Commit) Type() MessageType        { return TypeCommit }
func (m Commit) signature() string      { return m.Signature }
func (m *Commit) setSignature(s string) { m.Signature = s }

func (m Commit) MarshalJSON() ([]byte, error) {
	type alias Commit
	return marshalEnvelope(m.Type(), alias(m))
}

func (m *Commit) UnmarshalJSON(b []byte) error {
	type alias Commit
	var a alias
	if err := unmarshalEnvelope(b, TypeCommit, &a); err != nil {
		return err
	}
	*m = Commit(a)
	return nil
}

// PrepareInfo is a prepared certificate inside a ViewChange (no envelope of its own). Prepares
// is keyed by base58 peer IDs on the wire and is written as {} when nil, as the original does.
type PrepareInfo struct {
	View           uint                `json:"view"`
	SequenceNumber uint                `json:"sequence_number"`
	Digest         string              `json:"digest"`
	PrePrepare     PrePrepare          `json:"preprepare"`
	Prepares       map[peer.ID]Prepare `json:"prepares"`
}

// prepareInfoWire is PrepareInfo as written: encoding/json writes a map key of a string kind
// as its raw bytes, ignoring peer.ID's MarshalText, so the keys are converted by hand.
type prepareInfoWire struct {
	View           uint               `json:"view"`
	SequenceNumber uint               `json:"sequence_number"`
	Digest         string             `json:"digest"`
	PrePrepare     PrePrepare         `json:"preprepare"`
	Prepares       map[string]Prepare `json:"prepares"`
}

func (p PrepareInfo) MarshalJSON() ([]byte, error) {
	return json.Marshal(prepareInfoWire{
		View:           p.View,
		SequenceNumber: p.SequenceNumber,
		Digest:         p.Digest,
		PrePrepare:     p.PrePrepare,
		Prepares:       encodePeerMap(p.Prepares),
	})
}

func (p *PrepareInfo) UnmarshalJSON(b []byte) error {
	var w prepareInfoWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	prepares, err := decodePeerMap(w.Prepares)
	if err != nil {
		return fmt.Errorf("prepare info prepares: %w", err)
	}
	*p = PrepareInfo{View: w.View, SequenceNumber: w.SequenceNumber, Digest: w.Digest, PrePrepare: w.PrePrepare, Prepares: prepares}
	return nil
}

// encodePeerMap keys m by base58 peer IDs; nil gives an empty map, written {} (the original
// always builds the map it writes).
func encodePeerMap[V any](m map[peer.ID]V) map[string]V {
	out := make(map[string]V, len(m))
	for id, v := range m {
		out[id.String()] = v
	}
	return out
}

// decodePeerMap parses the peer IDs encodePeerMap wrote; the result is never nil.
func decodePeerMap[V any](m map[string]V) (map[peer.ID]V, error) {
	out := make(map[peer.ID]V, len(m))
	for s, v := range m {
		id, err := peer.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("peer ID %q: %w", s, err)
		}
		out[id] = v
	}
	return out, nil
}

// ViewChange is a replica's vote to move to View, with what it has prepared.
type ViewChange struct {
	View      uint          `json:"view"`
	Prepares  []PrepareInfo `json:"prepares"`
	Signature string        `json:"signature,omitempty"`
}

func (ViewChange) Type() MessageType        { return TypeViewChange }
func (m ViewChange) signature() string      { return m.Signature }
func (m *ViewChange) setSignature(s string) { m.Signature = s }

func (m ViewChange) MarshalJSON() ([]byte, error) {
	type alias ViewChange
	return marshalEnvelope(m.Type(), alias(m))
}

func (m *ViewChange) UnmarshalJSON(b []byte) error {
	type alias ViewChange
	var a alias
	if err := unmarshalEnvelope(b, TypeViewChange, &a); err != nil {
		return err
	}
	*m = ViewChange(a)
	return nil
}

// NewView is the new primary's proof that View began: 2f+1 ViewChanges and the pre-prepares it
// re-proposes. Its signature is always written, "" included (spec §6). Messages is keyed by
// base58 peer IDs on the wire and is written as {} when nil, as the original does.
type NewView struct {
	View        uint                   `json:"view"`
	Messages    map[peer.ID]ViewChange `json:"messages"`
	PrePrepares []PrePrepare           `json:"preprepares"`
	Signature   string                 `json:"signature"`
}

// newViewWire is NewView's data as written (see prepareInfoWire).
type newViewWire struct {
	View        uint                  `json:"view"`
	Messages    map[string]ViewChange `json:"messages"`
	PrePrepares []PrePrepare          `json:"preprepares"`
	Signature   string                `json:"signature"`
}

func (NewView) Type() MessageType        { return TypeNewView }
func (m NewView) signature() string      { return m.Signature }
func (m *NewView) setSignature(s string) { m.Signature = s }

func (m NewView) MarshalJSON() ([]byte, error) {
	return marshalEnvelope(m.Type(), newViewWire{
		View:        m.View,
		Messages:    encodePeerMap(m.Messages),
		PrePrepares: m.PrePrepares,
		Signature:   m.Signature,
	})
}

func (m *NewView) UnmarshalJSON(b []byte) error {
	var w newViewWire
	if err := unmarshalEnvelope(b, TypeNewView, &w); err != nil {
		return err
	}
	msgs, err := decodePeerMap(w.Messages)
	if err != nil {
		return fmt.Errorf("new view messages: %w", err)
	}
	*m = NewView{View: w.View, Messages: msgs, PrePrepares: w.PrePrepares, Signature: w.Signature}
	return nil
}

// Encode writes m as its envelope.
func Encode(m Message) ([]byte, error) { return json.Marshal(m) }

// Decode reads one message of any type.
func Decode(b []byte) (Message, error) {
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("pbft message: %w", err)
	}
	var m interface {
		Message
		json.Unmarshaler
	}
	switch e.Type {
	case TypeRequest:
		m = &Request{}
	case TypePrePrepare:
		m = &PrePrepare{}
	case TypePrepare:
		m = &Prepare{}
	case TypeCommit:
		m = &Commit{}
	case TypeViewChange:
		m = &ViewChange{}
	case TypeNewView:
		m = &NewView{}
	default:
		return nil, fmt.Errorf("%w: %d", ErrUnknownType, uint(e.Type))
	}
	if err := m.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("pbft %s: %w", e.Type, err)
	}
	// Values, not pointers: the core compares and stores them.
	switch v := m.(type) {
	case *Request:
		return *v, nil
	case *PrePrepare:
		return *v, nil
	case *Prepare:
		return *v, nil
	case *Commit:
		return *v, nil
	case *ViewChange:
		return *v, nil
	case *NewView:
		return *v, nil
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownType, uint(e.Type))
}

// SigningDigest is what a message's signature signs (spec §6): the lowercase hex SHA-256 of the
// message's Go JSON with its signature blanked (the key omitted, except NewView's, which stays
// as "") and without a top-level carrier. The signer signs the 64 ASCII bytes of this string.
func SigningDigest(m Signed) (string, error) {
	var b []byte
	var err error
	switch v := m.(type) {
	case *PrePrepare:
		c := *v
		c.Signature = ""
		b, err = json.Marshal(c)
	case *Prepare:
		c := *v
		c.Signature = ""
		b, err = json.Marshal(c)
	case *Commit:
		c := *v
		c.Signature = ""
		b, err = json.Marshal(c)
	case *ViewChange:
		c := *v
		c.Signature = ""
		b, err = json.Marshal(c)
	case *NewView:
		c := *v
		c.Signature = ""
		b, err = json.Marshal(c)
	default:
		return "", fmt.Errorf("%T is not a signed pbft message", m)
	}
	if err != nil {
		return "", fmt.Errorf("signing digest of %s: %w", m.Type(), err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Signer signs the ASCII bytes of a signing digest and returns the signature in hex; Verifier
// checks such a signature against a peer's key. The replica's caller supplies both (a libp2p
// key in a node, fakes in tests), so the core stays pure.
type (
	Signer   func(digest string) (string, error)
	Verifier func(from peer.ID, digest, signature string) bool
)

// Sign sets m's signature with sign.
func Sign(m Signed, sign Signer) error {
	d, err := SigningDigest(m)
	if err != nil {
		return err
	}
	sig, err := sign(d)
	if err != nil {
		return fmt.Errorf("sign %s: %w", m.Type(), err)
	}
	m.setSignature(sig)
	return nil
}

// Verify says whether m carries from's valid signature.
func Verify(m Signed, from peer.ID, verify Verifier) bool {
	sig := m.signature()
	if sig == "" {
		return false
	}
	d, err := SigningDigest(m)
	if err != nil {
		return false
	}
	return verify(from, d, sig)
}

// KeySigner signs with a node's libp2p key.
func KeySigner(key crypto.PrivKey) Signer {
	return func(digest string) (string, error) {
		sig, err := key.Sign([]byte(digest))
		if err != nil {
			return "", err
		}
		return hex.EncodeToString(sig), nil
	}
}

// PeerVerifier checks signatures against the key a peer ID embeds (Ed25519, secp256k1: the
// keys b7s nodes use); a peer whose ID does not embed its key never verifies.
func PeerVerifier(from peer.ID, digest, signature string) bool {
	key, err := from.ExtractPublicKey()
	if err != nil {
		return false
	}
	sig, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	ok, err := key.Verify([]byte(digest), sig)
	return err == nil && ok
}
