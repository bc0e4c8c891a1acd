package fstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// SyncReport says what one Sync did.
type SyncReport struct {
	Checked  int     // records looked at, broken ones included
	Repaired int     // functions whose archive or files were restored
	Failed   []error // one per broken record or failed repair; never stops the sync
}

// Sync checks every recorded function: the kept archive must match its SHA-256 and every
// entry of the archive must be present in the function folder. A bad or missing archive is
// downloaded again from the stored manifest; missing files are unpacked again. Broken records
// and failed repairs are reported (the caller logs the report), and the sync goes on. A
// function being installed is checked once the install is done. The returned error is only
// for the database being unreadable or ctx ending.
func (s *Store) Sync(ctx context.Context) (SyncReport, error) {
	var rep SyncReport
	good, broken, err := s.loadRecords()
	if err != nil {
		return rep, fmt.Errorf("sync: %w", err)
	}
	for cid, err := range broken {
		rep.Checked++
		rep.Failed = append(rep.Failed, fmt.Errorf("sync %s: %w", cid, err))
		s.log.Debug().Str("function", cid).Err(err).Msg("sync: skipping broken function record")
	}
	for _, rec := range good {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("sync: %w", err)
		}
		rep.Checked++
		repaired, err := s.syncOne(ctx, rec)
		if err != nil {
			if ctx.Err() != nil {
				return rep, fmt.Errorf("sync: %w", ctx.Err())
			}
			rep.Failed = append(rep.Failed, fmt.Errorf("sync %s: %w", rec.CID, err))
			s.log.Debug().Str("function", rec.CID).Err(err).Bool("transient", IsTransient(err)).Msg("sync: function repair failed")
			continue
		}
		if repaired {
			rep.Repaired++
		}
	}
	s.mu.Lock()
	first := s.firstSync
	s.firstSync = false
	s.mu.Unlock()
	if first {
		s.metrics.installed.Add(float64(rep.Checked))
	}
	s.log.Debug().Int("checked", rep.Checked).Int("repaired", rep.Repaired).Int("failed", len(rep.Failed)).Msg("function store synced")
	return rep, nil
}

// syncOne checks one function and repairs it if needed, while no other writer works on it;
// it reports whether it repaired.
func (s *Store) syncOne(ctx context.Context, rec Record) (bool, error) {
	unlock, err := s.writers.lock(ctx, rec.CID)
	if err != nil {
		return false, err
	}
	defer unlock()
	// An install that held the lock may have replaced the record loaded before waiting.
	if cur, err := s.Get(rec.CID); err == nil {
		rec = cur
	}
	want, _ := hex.DecodeString(rec.SHA256) // checked by decodeRecord
	archive := s.archivePath(rec.CID)
	archiveErr := checkFileSum(archive, want)
	var filesErr error
	if archiveErr == nil {
		filesErr = verifyTree(ctx, archive, s.filesDir(rec.CID), s.limits())
		if filesErr == nil {
			s.mu.Lock()
			if _, ok := s.index[rec.CID]; !ok {
				s.index[rec.CID] = rec
			}
			s.mu.Unlock()
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	log := s.log.With().Str("function", rec.CID).Logger()
	start := time.Now()
	s.metrics.attempt()
	var size int64
	if archiveErr != nil {
		log.Info().AnErr("archive", archiveErr).Msg("sync: archive missing or damaged, downloading again")
		size, err = s.fetchAndPlace(ctx, &rec)
	} else {
		log.Info().AnErr("files", filesErr).Msg("sync: files missing or damaged, unpacking again")
		size, err = s.reunpack(ctx, rec.CID)
	}
	if err == nil {
		rec.UpdatedAt = time.Now().UTC()
		err = s.commit(rec)
	}
	s.metrics.done(start, size, err)
	if err != nil {
		return false, err
	}
	log.Debug().Dur("took", time.Since(start)).Msg("sync: function repaired")
	return true, nil
}

// reunpack restores the function folder from the kept archive.
func (s *Store) reunpack(ctx context.Context, cid string) (int64, error) {
	work, err := s.workDir(cid)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	files := filepath.Join(work, "files")
	if err := s.unpackFile(ctx, s.archivePath(cid), files); err != nil {
		return 0, err
	}
	if err := s.placeFiles(cid, files, work); err != nil {
		return 0, err
	}
	fi, err := os.Stat(s.archivePath(cid))
	if err != nil {
		return 0, fmt.Errorf("reunpack: %w", err)
	}
	return fi.Size(), nil
}

func (s *Store) limits() unpackLimits {
	return unpackLimits{maxBytes: s.cfg.MaxUnpackedBytes, maxFiles: s.cfg.MaxFiles}
}

func checkFileSum(name string, want []byte) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("%w: %s has sha256 %x, record says %x", ErrChecksumMismatch, name, got, want)
	}
	return nil
}

// verifyTree checks that every entry of the (already trusted) archive is present in dir with
// the right kind and, for regular files, the right size.
func verifyTree(ctx context.Context, archive, dir string, lim unpackLimits) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadArchive, err)
	}
	defer gz.Close()
	stream := &capReader{r: gz, remaining: lim.streamCap()}
	tr := tar.NewReader(stream)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return stream.explain(err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		fi, err := root.Lstat(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if !fi.IsDir() {
				return fmt.Errorf("%s: not a directory", name)
			}
		case tar.TypeReg, '\x00':
			if !fi.Mode().IsRegular() || fi.Size() != hdr.Size {
				return fmt.Errorf("%s: not a regular file of %d bytes", name, hdr.Size)
			}
		case tar.TypeLink:
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("%s: not a regular file", name)
			}
		case tar.TypeSymlink:
			if fi.Mode()&os.ModeSymlink == 0 {
				return fmt.Errorf("%s: not a symlink", name)
			}
		}
	}
}
