package fstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestIsTransient(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), true},
		{"connection reset", fmt.Errorf("read: %w", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), true},
		{"connect timeout", dial(timeoutErr{}), true},
		{"idle timeout", fmt.Errorf("install x: download: %w", ErrIdleTimeout), true},
		{"deadline exceeded", fmt.Errorf("install x: %w", context.DeadlineExceeded), true},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "h", IsTimeout: true}, true},
		{"dns no such host", &net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}, false},
		{"body cut off", fmt.Errorf("read: %w", &transientError{err: io.ErrUnexpectedEOF}), true},
		{"http 500", &StatusError{URL: "u", StatusCode: 500}, true},
		{"http 502", fmt.Errorf("x: %w", &StatusError{URL: "u", StatusCode: 502}), true},
		{"http 503", &StatusError{URL: "u", StatusCode: 503}, true},
		{"http 429", &StatusError{URL: "u", StatusCode: 429}, true},
		{"http 408", &StatusError{URL: "u", StatusCode: 408}, true},
		{"http 404", &StatusError{URL: "u", StatusCode: 404}, false},
		{"http 403", &StatusError{URL: "u", StatusCode: 403}, false},
		{"http 400", &StatusError{URL: "u", StatusCode: 400}, false},
		{"checksum mismatch", fmt.Errorf("install x: %w", ErrChecksumMismatch), false},
		{"missing checksum", ErrMissingChecksum, false},
		{"bad manifest", ErrBadManifest, false},
		{"bad archive", fmt.Errorf("%w: unexpected EOF", ErrBadArchive), false},
		{"unsafe archive", ErrUnsafeArchive, false},
		{"too large", ErrTooLarge, false},
		{"bad record", ErrBadRecord, false},
		{"not found", ErrNotFound, false},
		{"invalid cid", ErrInvalidCID, false},
		// Content is judged first: a limit hit while the network also failed is still permanent.
		{"permanent wins", errors.Join(ErrTooLarge, &transientError{err: io.ErrUnexpectedEOF}), false},
		{"cancelled", fmt.Errorf("install x: %w", context.Canceled), false},
		{"unknown", errors.New("something else"), false},
		{"disk full", os.NewSyscallError("write", syscall.ENOSPC), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsTransient(tc.err); got != tc.want {
				t.Fatalf("IsTransient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
