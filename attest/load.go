package attest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multibase"

	"github.com/b7s-actor/b7s/messages"
)

// Loaded is a verified attestation in use, with where it came from.
type Loaded struct {
	Attestation Attestation
	Source      string   // the file path or URL
	Digest      [32]byte // SHA-256 of the bytes it was decoded from
	LoadedAt    time.Time
	index       *Index
}

// NewLoaded verifies a and prepares it for matching; self is the node that will use it, whose
// own signature it must carry if it carries one (so an attestation copied from another node is
// refused). An unsigned attestation is accepted: it attests nothing.
func NewLoaded(a Attestation, self peer.ID, source string, digest [32]byte, now time.Time) (*Loaded, error) {
	if err := Verify(a); err != nil {
		return nil, err
	}
	if a.Signature != nil && a.Signature.Signer != self {
		return nil, fmt.Errorf("the node signature is by %s, not by this node (%s): an attestation belongs to the node that signed it", a.Signature.Signer, self)
	}
	return &Loaded{Attestation: a, Source: source, Digest: digest, LoadedAt: now, index: NewIndex(a)}, nil
}

// Match applies the roll-call rules (Index.Match) to l; a nil l is no attestation.
func (l *Loaded) Match(want *messages.Attributes) Mismatch {
	var ix *Index
	if l != nil {
		ix = l.index
	}
	return ix.Match(want)
}

// Holder holds the attestation a worker uses now. The loader replaces it; roll calls read it
// with one atomic load. The zero Holder holds none, and a nil *Holder holds none.
type Holder struct {
	cur atomic.Pointer[Loaded]
}

// Current is the attestation in use, nil for none.
func (h *Holder) Current() *Loaded {
	if h == nil {
		return nil
	}
	return h.cur.Load()
}

// Set replaces the attestation in use.
func (h *Holder) Set(l *Loaded) { h.cur.Store(l) }

// Loader loads the attestation from its source into a Holder, at start and again when asked
// (SIGHUP) or on a tick (Watch). A reload that fails keeps the attestation in use and records
// the error; only the first load's failure stops a node.
type Loader struct {
	cfg    Config
	holder *Holder
	mu     sync.Mutex // one load at a time
	// lastErr is the last load's error, "" after a success; read by Info.
	lastErr atomic.Pointer[string]
}

// NewLoader returns a loader of cfg's source into holder.
func NewLoader(cfg Config, holder *Holder) (*Loader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("attestation loader: no source configured")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	return &Loader{cfg: cfg, holder: holder}, nil
}

// Source is the file path, or the gateway URL of this node's record.
func (l *Loader) Source() string {
	if l.cfg.File != "" {
		return l.cfg.File
	}
	return GatewayURL(l.cfg.GatewayTemplate, l.cfg.Self)
}

// Load reads the source, within the configured timeout, and puts what it holds in use if it
// differs from the attestation in use (same bytes: changed is false and nothing is re-checked).
// A source that cannot be read, decoded or verified is an error, and what was in use stays.
func (l *Loader) Load(ctx context.Context) (changed bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	changed, err = l.load(ctx)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	l.lastErr.Store(&msg)
	return changed, err
}

func (l *Loader) load(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	source := l.Source()
	data, err := l.read(ctx, source)
	if err != nil {
		return false, fmt.Errorf("load attestation: %w", err)
	}
	digest := sha256.Sum256(data)
	if cur := l.holder.Current(); cur != nil && cur.Digest == digest && cur.Source == source {
		return false, nil
	}
	a, err := Decode(data)
	if err != nil {
		return false, fmt.Errorf("load attestation from %s: %w", source, err)
	}
	loaded, err := NewLoaded(a, l.cfg.Self, source, digest, time.Now())
	if err != nil {
		return false, fmt.Errorf("load attestation from %s: %w", source, err)
	}
	l.holder.Set(loaded)
	l.cfg.Logger.Info().Str("source", source).Str("attributes", describe(a.Attributes)).
		Int("attestors", len(a.Attestors)).Msg("attestation loaded")
	return true, nil
}

func (l *Loader) read(ctx context.Context, source string) ([]byte, error) {
	if l.cfg.File != "" {
		return readFile(source)
	}
	return fetch(ctx, l.cfg.Client, source)
}

// readFile reads at most MaxFileBytes (+1, to tell a file that is too large).
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s is larger than the %d bytes an attestation may take", path, MaxFileBytes)
	}
	return data, nil
}

// fetch GETs url; anything but 200 OK is an error that says the status (the original fed error
// pages to its decoder).
func fetch(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GET %s: no answer within the timeout: %w", url, err)
		}
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", url, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("GET %s: body larger than the %d bytes an attestation may take", url, MaxFileBytes)
	}
	return data, nil
}

// Watch reloads a file source every interval until ctx ends, so a changed file is picked up
// without a signal. A gateway source is reloaded only when asked (Load), to contact the gateway
// no more than the operator does. Reload errors are logged and kept for Info.
func (l *Loader) Watch(ctx context.Context, interval time.Duration) {
	if l.cfg.File == "" || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Reload(ctx)
		}
	}
}

// Reload is Load for a running node: an error is logged and the attestation in use stays.
func (l *Loader) Reload(ctx context.Context) {
	changed, err := l.Load(ctx)
	switch {
	case err != nil:
		l.cfg.Logger.Error().Err(err).Msg("attestation reload failed; the one loaded before stays in use")
	case !changed:
		l.cfg.Logger.Debug().Str("source", l.Source()).Msg("attestation unchanged")
	}
}

// Info describes the attestation in use for people (the node's /debug/actors).
type Info struct {
	Source     string      `json:"source"`
	SHA256     string      `json:"sha256"`
	LoadedAt   time.Time   `json:"loaded_at"`
	Attributes []Attribute `json:"attributes"`
	Signer     peer.ID     `json:"signer,omitempty"` // the node signature's signer; empty when unsigned
	Attestors  []peer.ID   `json:"attestors"`
	// LastError is the last reload's failure; empty when it succeeded.
	LastError string `json:"last_error,omitempty"`
}

// Info describes the attestation in use, nil when none is.
func (l *Loader) Info() *Info {
	info := DescribeLoaded(l.holder.Current())
	if info != nil {
		if msg := l.lastErr.Load(); msg != nil {
			info.LastError = *msg
		}
	}
	return info
}

// DescribeLoaded is Info without a loader's last error; nil for nil.
func DescribeLoaded(cur *Loaded) *Info {
	if cur == nil {
		return nil
	}
	info := &Info{Source: cur.Source, SHA256: hex.EncodeToString(cur.Digest[:]), LoadedAt: cur.LoadedAt,
		Attributes: append([]Attribute{}, cur.Attestation.Attributes...), Attestors: []peer.ID{}}
	if s := cur.Attestation.Signature; s != nil {
		info.Signer = s.Signer
	}
	for _, s := range cur.Attestation.Attestors {
		info.Attestors = append(info.Attestors, s.Signer)
	}
	return info
}

// IPNSName is the IPNS name of a peer's key as gateways take it in a subdomain: the CIDv1
// (libp2p-key codec) of the ID in base36, k51… for Ed25519 keys.
func IPNSName(id peer.ID) string {
	return peer.ToCid(id).Encode(base36)
}

// base36 is the multibase encoder of IPNS subdomain names (MustNewEncoder panics only on an
// unknown encoding).
var base36 = multibase.MustNewEncoder(multibase.Base36)

// GatewayURL is template with NamePlaceholder replaced by id's IPNS name.
func GatewayURL(template string, id peer.ID) string {
	return strings.ReplaceAll(template, NamePlaceholder, IPNSName(id))
}

func describe(attrs []Attribute) string {
	var b bytes.Buffer
	for i, a := range attrs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	return b.String()
}
