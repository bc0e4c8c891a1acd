package fstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Manifest describes a function deployment (blockless.FunctionManifest, spec §7.1). Only
// Deployment.URI and Deployment.Checksum (or the legacy Runtime pair) are used; the rest is
// kept so that the record holds the manifest as published.
type Manifest struct {
	ID              string            `json:"id,omitempty"`
	Name            string            `json:"name,omitempty"`
	Description     string            `json:"description,omitempty"`
	Function        ManifestFunction  `json:"function,omitempty"`
	Deployment      Deployment        `json:"deployment,omitempty"`
	Runtime         LegacyRuntime     `json:"runtime,omitempty"`
	Cached          bool              `json:"cached,omitempty"`
	Hooks           []json.RawMessage `json:"hooks,omitempty"`
	FSRootPath      string            `json:"fs_root_path,omitempty"`
	Entry           string            `json:"entry,omitempty"`
	ContentType     string            `json:"contentType,omitempty"`
	Permissions     []string          `json:"permissions,omitempty"`
	DriversRootPath string            `json:"drivers_root_path,omitempty"`
	LimitedFuel     uint64            `json:"limited_fuel,omitempty"`
	LimitedMemory   uint64            `json:"limited_memory,omitempty"`
}

// ManifestFunction is the manifest's `function` object.
type ManifestFunction struct {
	ID         string   `json:"id,omitempty"`
	Name       string   `json:"name,omitempty"`
	Version    string   `json:"version,omitempty"`
	Runtime    string   `json:"runtime,omitempty"`
	Extensions []string `json:"extensions,omitempty"`
}

// Deployment says where the archive is and what its SHA-256 is.
type Deployment struct {
	CID         string   `json:"cid,omitempty"`
	Checksum    string   `json:"checksum,omitempty"`
	URI         string   `json:"uri,omitempty"`
	Methods     []Method `json:"methods,omitempty"`
	Aggregation string   `json:"aggregation,omitempty"`
	Nodes       int      `json:"nodes,omitempty"`
	// File is the archive's path relative to the workspace, set by the store.
	File string `json:"file,omitempty"`
}

// Method is one entry of deployment.methods.
type Method struct {
	Name       string      `json:"name,omitempty"`
	Entry      string      `json:"entry,omitempty"`
	Arguments  []Parameter `json:"arguments,omitempty"`
	EnvVars    []Parameter `json:"envvars,omitempty"`
	ResultType string      `json:"result_type,omitempty"`
}

// Parameter is a name/value pair.
type Parameter struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// LegacyRuntime is the old way to point at the archive; when URL is set it replaces Deployment.
type LegacyRuntime struct {
	Checksum string `json:"checksum,omitempty"`
	URL      string `json:"url,omitempty"`
}

// ParseManifest decodes a manifest fetched from manifestURL and applies the legacy rule: a
// runtime.url replaces the deployment, taking a missing scheme or host from manifestURL.
func ParseManifest(data []byte, manifestURL string) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: decode: %v", ErrBadManifest, err)
	}
	if m.Runtime.URL != "" {
		base, err := url.Parse(manifestURL)
		if err != nil {
			return Manifest{}, fmt.Errorf("%w: manifest url %q: %v", ErrBadManifest, manifestURL, err)
		}
		ref, err := url.Parse(m.Runtime.URL)
		if err != nil {
			return Manifest{}, fmt.Errorf("%w: runtime.url %q: %v", ErrBadManifest, m.Runtime.URL, err)
		}
		if ref.Scheme == "" {
			ref.Scheme = base.Scheme
		}
		if ref.Host == "" {
			ref.Host = base.Host
		}
		m.Deployment = Deployment{URI: ref.String(), Checksum: m.Runtime.Checksum}
	}
	return m, nil
}

// archiveSource returns the archive URL and the expected SHA-256 from a parsed manifest.
func (m Manifest) archiveSource() (string, []byte, error) {
	if strings.TrimSpace(m.Deployment.Checksum) == "" {
		return "", nil, ErrMissingChecksum
	}
	sum, err := hex.DecodeString(strings.TrimSpace(m.Deployment.Checksum))
	if err != nil || len(sum) != 32 {
		return "", nil, fmt.Errorf("%w: deployment.checksum %q is not a hex sha256", ErrBadManifest, m.Deployment.Checksum)
	}
	if m.Deployment.URI == "" {
		return "", nil, fmt.Errorf("%w: no deployment.uri (nor runtime.url)", ErrBadManifest)
	}
	u, err := parseHTTPURL(m.Deployment.URI)
	if err != nil {
		return "", nil, fmt.Errorf("%w: deployment.uri: %v", ErrBadManifest, err)
	}
	return u.String(), sum, nil
}

// fetchManifest GETs and parses the manifest; a non-200 status or a body over the limit fails.
func (s *Store) fetchManifest(ctx context.Context, manifestURL string) (Manifest, error) {
	if _, err := parseHTTPURL(manifestURL); err != nil {
		return Manifest{}, fmt.Errorf("fetch manifest: %w: %v", ErrBadManifest, err)
	}
	resp, body, guard, err := s.get(ctx, manifestURL)
	if err != nil {
		return Manifest{}, fmt.Errorf("fetch manifest: %w", err)
	}
	defer guard.stop()
	defer resp.Body.Close()

	limit := s.cfg.MaxManifestBytes
	if resp.ContentLength > limit {
		return Manifest{}, fmt.Errorf("fetch manifest %s: %w: content length %d over %d bytes", manifestURL, ErrTooLarge, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return Manifest{}, fmt.Errorf("fetch manifest: %w", guard.explain("read "+manifestURL, err))
	}
	if int64(len(data)) > limit {
		return Manifest{}, fmt.Errorf("fetch manifest %s: %w: body over %d bytes", manifestURL, ErrTooLarge, limit)
	}
	m, err := ParseManifest(data, manifestURL)
	if err != nil {
		return Manifest{}, fmt.Errorf("fetch manifest %s: %w", manifestURL, err)
	}
	return m, nil
}
