package fstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// download streams the archive at rawURL into dst (a new file), enforcing MaxArchiveBytes and
// the idle timeout, and checks its SHA-256 against want. It returns the archive's size.
// On any failure dst is removed.
func (s *Store) download(ctx context.Context, rawURL string, want []byte, dst string) (size int64, err error) {
	resp, body, guard, err := s.get(ctx, rawURL)
	if err != nil {
		return 0, fmt.Errorf("download archive: %w", err)
	}
	defer guard.stop()
	defer resp.Body.Close()

	limit := s.cfg.MaxArchiveBytes
	if resp.ContentLength > limit {
		return 0, fmt.Errorf("download archive %s: %w: content length %d over %d bytes", rawURL, ErrTooLarge, resp.ContentLength, limit)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("download archive: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("download archive: close: %w", cerr)
		}
		if err != nil {
			os.Remove(dst)
		}
	}()

	h := sha256.New()
	src := &readErrRecorder{r: io.LimitReader(body, limit+1)}
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		if src.err != nil {
			return n, fmt.Errorf("download archive: %w", guard.explain("read "+rawURL, err))
		}
		return n, fmt.Errorf("download archive %s: write: %w", rawURL, err)
	}
	if n > limit {
		return n, fmt.Errorf("download archive %s: %w: over %d bytes", rawURL, ErrTooLarge, limit)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return n, fmt.Errorf("download archive %s: %w: got sha256 %s, manifest says %s",
			rawURL, ErrChecksumMismatch, hex.EncodeToString(got), hex.EncodeToString(want))
	}
	return n, f.Sync()
}

// readErrRecorder remembers a read error so that it can be told apart from a write error.
type readErrRecorder struct {
	r   io.Reader
	err error
}

func (r *readErrRecorder) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
