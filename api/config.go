package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/b7s-actor/b7s/internal/check"
)

// Limits of the REST door that are not settings. Each has this one source; the handlers, their
// messages and api/openapi.yaml state them (a test checks the document).
const (
	// MaxBodyBytes bounds every request body. The largest legitimate one, an execution request
	// with its parameters, environment and stdin, is a few kilobytes. A body declared larger is
	// answered 413 without being read; one that turns out larger is answered 413 once this many
	// bytes have come, and the rest is not read.
	MaxBodyBytes = 1 << 20
	// MaxJSONDepth bounds how deeply a body's JSON nests (objects and arrays). The deepest field
	// of an execution request, config.attributes.attestors.each[], is at depth 5; unknown keys are
	// ignored, so some room is left for clients that send more. Go's decoder has no such limit.
	MaxJSONDepth = 32
)

// Config is a node's HTTP side: the REST door's limits that are settings and the server's
// timeouts. DefaultConfig owns the defaults; package config builds the node's from them.
type Config struct {
	// MaxRequestTimeout bounds an execution request's config.timeout (whole seconds): a larger
	// one is refused with 400 naming the bound. A head holds a request for up to its timeout
	// twice over (the roll call, then the gathering), so this bounds how long a client can make
	// it wait.
	MaxRequestTimeout time.Duration
	// InstallTimeout is how long an install may take to publish before the answer is
	// {"code":"408"} (spec §9).
	InstallTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers, and ReadTimeout the whole request
	// with its body: a client that trickles its request (slowloris) is cut off then. Neither
	// bounds the answer: an execute answers when the request is done, by its own deadlines.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// IdleTimeout closes keep-alive connections that carry no request for this long.
	IdleTimeout time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxRequestTimeout: time.Minute,
		InstallTimeout:    10 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
}

// MinMaxRequestTimeout is the smallest MaxRequestTimeout: config.timeout counts whole seconds.
const MinMaxRequestTimeout = time.Second

// Validate reports every setting out of bounds.
func (c Config) Validate() error {
	if err := errors.Join(
		check.Min("MaxRequestTimeout", c.MaxRequestTimeout, MinMaxRequestTimeout),
		check.Min("InstallTimeout", c.InstallTimeout, time.Millisecond),
		check.Min("ReadHeaderTimeout", c.ReadHeaderTimeout, time.Millisecond),
		check.Min("ReadTimeout", c.ReadTimeout, time.Millisecond),
		check.Min("IdleTimeout", c.IdleTimeout, time.Millisecond),
	); err != nil {
		return fmt.Errorf("api config: %w", err)
	}
	return nil
}

// NewServer is the node's HTTP server for h, with cfg's timeouts. The caller serves it.
func NewServer(cfg Config, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout, // a request body trickled forever holds a connection
		IdleTimeout:       cfg.IdleTimeout, // keep-alive connections do not stay open for ever
		// No WriteTimeout: an execute answers when the request is done, by its own deadlines.
	}
}
