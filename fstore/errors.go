package fstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
)

// Permanent failures: retrying the same install cannot succeed.
var (
	ErrNotFound         = errors.New("function not found")
	ErrInvalidCID       = errors.New("invalid function cid")
	ErrInvalidMethod    = errors.New("invalid function method")
	ErrBadManifest      = errors.New("bad manifest")
	ErrMissingChecksum  = errors.New("manifest has no deployment checksum (sha256 of the archive is required)")
	ErrChecksumMismatch = errors.New("archive checksum mismatch")
	ErrBadArchive       = errors.New("bad archive")
	ErrUnsafeArchive    = errors.New("unsafe archive entry")
	ErrTooLarge         = errors.New("size limit exceeded")
	ErrBadRecord        = errors.New("bad function record")
)

// Transient failures: a later attempt may succeed.
var (
	// ErrIdleTimeout: no byte arrived for Config.IdleTimeout (headers or body).
	ErrIdleTimeout = errors.New("transfer idle timeout")
)

// StatusError is an HTTP response with an unexpected status.
type StatusError struct {
	URL        string
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: unexpected status %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// Transient reports whether the server may answer differently later (5xx, 429, 408).
func (e *StatusError) Transient() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode == http.StatusRequestTimeout
}

// transientError marks a network failure seen while talking to a server (reset, refused,
// cut-off body) whose exact error value may not say so by itself.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

var permanentErrors = []error{
	ErrNotFound, ErrInvalidCID, ErrInvalidMethod, ErrBadManifest, ErrMissingChecksum,
	ErrChecksumMismatch, ErrBadArchive, ErrUnsafeArchive, ErrTooLarge, ErrBadRecord,
}

// IsTransient reports whether retrying the operation that returned err may succeed:
// connection refused/reset, connect and idle timeouts, DNS timeouts, HTTP 5xx/429/408 and an
// expired deadline are transient. Bad or hostile content (checksum, archive, manifest, limits),
// other HTTP statuses (404), a cancelled context and unknown errors are not.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	for _, p := range permanentErrors {
		if errors.Is(err, p) {
			return false
		}
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Transient()
	}
	if errors.Is(err, ErrIdleTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var te *transientError
	if errors.As(err, &te) {
		return true
	}
	for _, errno := range []syscall.Errno{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return false
}
