package attest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/internal/check"
)

// NamePlaceholder is the part of Config.GatewayTemplate replaced by the node's IPNS name.
const NamePlaceholder = "{name}"

// DefaultGatewayTemplate is where --load-attributes looks by default: the node's IPNS name on a
// public subdomain gateway. The original used https://<name>.ipns.cf-ipfs.com/attributes.bin,
// a gateway since retired; a private network sets its own gateway.
const DefaultGatewayTemplate = "https://" + NamePlaceholder + ".ipns.dweb.link/attributes.bin"

// Config says where a worker's attestation comes from. At most one source: File, or the IPNS
// gateway when FromGateway is set.
type Config struct {
	// File is the path of an attributes.bin on this machine; "" for none.
	File string
	// FromGateway fetches the attestation through GatewayTemplate (the original's
	// --load-attributes).
	FromGateway bool
	// GatewayTemplate is an http(s) URL with NamePlaceholder, which becomes the IPNS name of
	// the node's own key (k51…): the record the original's operators publish.
	GatewayTemplate string
	// Timeout bounds one load (the whole download, or reading the file).
	Timeout time.Duration
	// Self is the node. Its ID names the IPNS record, and a node signature must be its own.
	Self peer.ID
	// Client makes the gateway requests; nil for a plain http.Client (Timeout bounds it).
	Client *http.Client
	Logger zerolog.Logger
}

// DefaultConfig returns the defaults: no source, the public gateway, a 10 s timeout.
func DefaultConfig() Config {
	return Config{GatewayTemplate: DefaultGatewayTemplate, Timeout: 10 * time.Second, Logger: zerolog.Nop()}
}

// Enabled reports whether a source is configured.
func (c Config) Enabled() bool { return c.File != "" || c.FromGateway }

// Validate reports every setting out of bounds.
func (c Config) Validate() error {
	errs := []error{check.Min("Timeout", c.Timeout, time.Millisecond)}
	if c.File != "" && c.FromGateway {
		errs = append(errs, errors.New("File: set together with FromGateway; an attestation has one source"))
	}
	if c.FromGateway {
		errs = append(errs, ValidateGatewayTemplate("GatewayTemplate", c.GatewayTemplate))
	}
	if c.Enabled() && c.Self == "" {
		errs = append(errs, errors.New("Self: must be set to load an attestation"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("attestation config: %w", err)
	}
	return nil
}

// ValidateGatewayTemplate requires an http(s) URL template with NamePlaceholder; key names the
// setting in the error.
func ValidateGatewayTemplate(key, template string) error {
	if !strings.Contains(template, NamePlaceholder) {
		return fmt.Errorf("%s: %q does not contain %s", key, template, NamePlaceholder)
	}
	u, err := url.Parse(strings.ReplaceAll(template, NamePlaceholder, "name"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http(s) URL template", key, template)
	}
	return nil
}
