package fstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

const userAgent = "b7s"

// idleGuard cancels a transfer when no progress was made for its timeout. Unlike a client
// timeout it never cuts off a transfer that keeps moving.
type idleGuard struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	timeout time.Duration
	mu      sync.Mutex
	stopped bool
}

func newIdleGuard(parent context.Context, timeout time.Duration) *idleGuard {
	ctx, cancel := context.WithCancelCause(parent)
	g := &idleGuard{ctx: ctx, cancel: cancel, timeout: timeout}
	g.timer = time.AfterFunc(timeout, func() { cancel(ErrIdleTimeout) })
	return g
}

// progress pushes the deadline back by the full timeout.
func (g *idleGuard) progress() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.stopped {
		g.timer.Reset(g.timeout)
	}
}

func (g *idleGuard) stop() {
	g.mu.Lock()
	g.stopped = true
	g.timer.Stop()
	g.mu.Unlock()
	g.cancel(context.Canceled)
}

// explain turns an error seen during the transfer into what actually happened: an idle
// timeout, the caller's cancellation, or a (transient) network failure.
func (g *idleGuard) explain(op string, err error) error {
	if g.ctx.Err() != nil {
		cause := context.Cause(g.ctx)
		if errors.Is(cause, ErrIdleTimeout) {
			return fmt.Errorf("%s: no data for %s: %w", op, g.timeout, ErrIdleTimeout)
		}
		return fmt.Errorf("%s: %w", op, cause)
	}
	if looksTransient(err) {
		return fmt.Errorf("%s: %w", op, &transientError{err: err})
	}
	// A bad certificate, a redirect loop or an unsupported scheme fails the same way next time.
	return fmt.Errorf("%s: %w", op, err)
}

// looksTransient says whether a transfer error is the network's passing trouble (a connection
// refused, reset or cut short, a timeout) rather than something a retry cannot fix.
func looksTransient(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true // the body was cut short
	}
	var tlsErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	if errors.As(err, &tlsErr) || errors.As(err, &unknownAuthority) || errors.As(err, &hostname) {
		return false
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true // dial, read or write on the connection failed
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// progressReader reports progress on every successful read.
type progressReader struct {
	r     io.Reader
	guard *idleGuard
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.guard.progress()
	}
	return n, err
}

// get starts a GET of rawURL and checks the status is 200. The caller reads the body through
// body (which feeds the idle guard) and must call done when finished.
func (s *Store) get(ctx context.Context, rawURL string) (resp *http.Response, body io.Reader, guard *idleGuard, err error) {
	guard = newIdleGuard(ctx, s.cfg.IdleTimeout)
	req, err := http.NewRequestWithContext(guard.ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		guard.stop()
		return nil, nil, nil, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err = s.client.Do(req)
	if err != nil {
		err = guard.explain("GET "+rawURL, err)
		guard.stop()
		return nil, nil, nil, err
	}
	guard.progress()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused; the body is not interesting.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
		guard.stop()
		return nil, nil, nil, &StatusError{URL: rawURL, StatusCode: resp.StatusCode}
	}
	return resp, &progressReader{r: resp.Body, guard: guard}, guard, nil
}
