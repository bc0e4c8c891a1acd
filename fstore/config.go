package fstore

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/internal/check"
)

// CIDPlaceholder is the part of Config.GatewayTemplate replaced by the function's CID.
const CIDPlaceholder = "{cid}"

// DefaultGatewayTemplate is where the original b7s looks for a manifest by CID (spec §7.2).
const DefaultGatewayTemplate = "https://" + CIDPlaceholder + ".ipfs.w3s.link/manifest.json"

// Config configures a Store. Start from DefaultConfig and set Workspace.
type Config struct {
	// Workspace holds one folder per function (<Workspace>/<cid>/), the kept archives
	// (<Workspace>/.archives/) and temporary work (<Workspace>/.tmp/). One Store per workspace.
	Workspace string
	// GatewayTemplate builds a manifest URL from a CID; CIDPlaceholder is replaced.
	GatewayTemplate string

	MaxManifestBytes int64 // largest manifest body accepted
	MaxArchiveBytes  int64 // largest archive download accepted
	MaxUnpackedBytes int64 // largest total size of the regular files in an archive
	MaxFiles         int   // largest number of entries (files, dirs, links) in an archive

	// ConnectTimeout bounds dialing and the TLS handshake of the default transport.
	ConnectTimeout time.Duration
	// IdleTimeout is the longest wait for the next byte (response headers or body) before
	// a transfer is abandoned with a transient error. It resets on every bit of progress,
	// so a large archive on a slow but live link is never cut off.
	IdleTimeout time.Duration
	// Transport carries the HTTP requests; nil means a fresh http.Transport that dials
	// with ConnectTimeout.
	Transport http.RoundTripper

	Logger zerolog.Logger
	// Registerer receives the fstore metrics (spec §11); nil means they are not exported.
	Registerer prometheus.Registerer
}

// DefaultConfig returns the defaults; Workspace is left empty and must be set.
func DefaultConfig() Config {
	return Config{
		GatewayTemplate:  DefaultGatewayTemplate,
		MaxManifestBytes: 1 << 20,
		MaxArchiveBytes:  256 << 20,
		MaxUnpackedBytes: 1 << 30,
		MaxFiles:         10_000,
		ConnectTimeout:   10 * time.Second,
		IdleTimeout:      30 * time.Second,
		Logger:           zerolog.Nop(),
	}
}

// Validate reports every setting that is out of bounds.
func (c Config) Validate() error {
	if err := errors.Join(
		check.Set("Workspace", c.Workspace),
		validateGatewayTemplate(c.GatewayTemplate),
		check.Min("MaxManifestBytes", c.MaxManifestBytes, 1),
		check.Min("MaxArchiveBytes", c.MaxArchiveBytes, 1),
		check.Min("MaxUnpackedBytes", c.MaxUnpackedBytes, 1),
		check.Min("MaxFiles", c.MaxFiles, 1),
		check.Min("ConnectTimeout", c.ConnectTimeout, time.Millisecond),
		check.Min("IdleTimeout", c.IdleTimeout, time.Millisecond),
	); err != nil {
		return fmt.Errorf("fstore config: %w", err)
	}
	return nil
}

func validateGatewayTemplate(tmpl string) error {
	if !strings.Contains(tmpl, CIDPlaceholder) {
		return fmt.Errorf("GatewayTemplate: %q does not contain %s", tmpl, CIDPlaceholder)
	}
	if _, err := parseHTTPURL(strings.ReplaceAll(tmpl, CIDPlaceholder, "bafy")); err != nil {
		return fmt.Errorf("GatewayTemplate: %w", err)
	}
	return nil
}

// parseHTTPURL accepts only absolute http(s) URLs with a host.
func parseHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q: missing host", raw)
	}
	return u, nil
}

// newTransport is the default transport: no shared state with http.DefaultTransport, dialing
// bounded by the connect timeout. Waiting for headers and body is bounded by the idle guard.
func newTransport(connect time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   connect,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
