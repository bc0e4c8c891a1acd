package fstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"
)

// Store installs functions into a workspace and keeps their records in bbolt. It is safe for
// concurrent use: writers of one CID take turns, and a turn that finds the function installed
// by the one before does nothing.
type Store struct {
	cfg     Config
	db      *bbolt.DB
	client  *http.Client
	log     zerolog.Logger
	metrics *metrics

	mu        sync.RWMutex
	index     map[string]Record // valid records by CID
	firstSync bool

	writers cidLocks
}

// New opens the store on workspace cfg.Workspace and database db (the node's). It loads the
// index of records, logging and skipping broken ones, and clears leftover temporary work.
func New(cfg Config, db *bbolt.DB) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("fstore: nil database")
	}
	ws, err := filepath.Abs(cfg.Workspace)
	if err != nil {
		return nil, fmt.Errorf("fstore: workspace: %w", err)
	}
	cfg.Workspace = ws
	for _, d := range []string{ws, filepath.Join(ws, archivesDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("fstore: workspace: %w", err)
		}
	}
	// Whatever is in .tmp was left by a crash mid-install: never moved into place, so unused.
	if err := os.RemoveAll(filepath.Join(ws, tmpDir)); err != nil {
		return nil, fmt.Errorf("fstore: clear temporary work: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(ws, tmpDir), 0o755); err != nil {
		return nil, fmt.Errorf("fstore: workspace: %w", err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketFunctions)
		return err
	}); err != nil {
		return nil, fmt.Errorf("fstore: create bucket: %w", err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("fstore: %w", err)
	}
	transport := cfg.Transport
	if transport == nil {
		transport = newTransport(cfg.ConnectTimeout)
	}
	s := &Store{
		cfg:       cfg,
		db:        db,
		client:    &http.Client{Transport: transport},
		log:       cfg.Logger.With().Str("component", "fstore").Logger(),
		metrics:   m,
		index:     make(map[string]Record),
		firstSync: true,
	}
	good, broken, err := s.loadRecords()
	if err != nil {
		return nil, fmt.Errorf("fstore: %w", err)
	}
	for _, rec := range good {
		s.index[rec.CID] = rec
	}
	for cid, err := range broken {
		s.log.Warn().Str("function", cid).Err(err).Msg("skipping broken function record")
	}
	s.log.Debug().Int("records", len(good)).Int("broken", len(broken)).Str("workspace", ws).Msg("function store opened")
	return s, nil
}

// Close releases idle HTTP connections. The database belongs to the caller and stays open.
func (s *Store) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// ManifestURL is the gateway's manifest URL for cid (Config.GatewayTemplate), for callers
// that were given no URL of their own.
func (s *Store) ManifestURL(cid string) string {
	return strings.ReplaceAll(s.cfg.GatewayTemplate, CIDPlaceholder, cid)
}

// Workspace is the absolute workspace path.
func (s *Store) Workspace() string { return s.cfg.Workspace }

// IsInstalled reports whether cid has a record and its folder exists. It does no hashing;
// Sync is what checks contents.
func (s *Store) IsInstalled(cid string) bool {
	if checkCID(cid) != nil {
		return false
	}
	s.mu.RLock()
	_, ok := s.index[cid]
	s.mu.RUnlock()
	if !ok {
		return false
	}
	fi, err := os.Stat(s.filesDir(cid))
	return err == nil && fi.IsDir()
}

// Get returns the record of cid, or an error wrapping ErrNotFound.
func (s *Store) Get(cid string) (Record, error) {
	s.mu.RLock()
	rec, ok := s.index[cid]
	s.mu.RUnlock()
	if !ok {
		return Record{}, fmt.Errorf("get %s: %w", cid, ErrNotFound)
	}
	return rec, nil
}

// List returns every valid record, ordered by CID.
func (s *Store) List() []Record {
	s.mu.RLock()
	out := make([]Record, 0, len(s.index))
	for _, rec := range s.index {
		out = append(out, rec)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.CID, b.CID) })
	return out
}

// FunctionPath is the absolute path of file method of function cid. Methods that are absolute
// or climb out of the function folder are refused (ErrInvalidMethod). It does not check that
// the function is installed.
func (s *Store) FunctionPath(cid, method string) (string, error) {
	if err := checkCID(cid); err != nil {
		return "", fmt.Errorf("function path: %w", err)
	}
	if method == "" || strings.ContainsRune(method, 0) || strings.HasPrefix(method, "/") ||
		strings.Contains(method, `\`) || filepath.IsAbs(method) {
		return "", fmt.Errorf("function path %s: %w: %q", cid, ErrInvalidMethod, method)
	}
	clean := path.Clean(method)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("function path %s: %w: %q", cid, ErrInvalidMethod, method)
	}
	return filepath.Join(s.filesDir(cid), filepath.FromSlash(clean)), nil
}

// Install fetches the manifest at manifestURL, downloads and checks the archive, unpacks it
// and saves the record. manifestURL is required: a caller with none passes ManifestURL(cid).
// A function already installed is not fetched again, also when it was installed while this
// call waited for another writer of cid (an install or a sync repair) to finish. Each call
// does its own work: outcomes are not shared and failures are not retried. Errors tell with
// IsTransient whether a retry may help.
func (s *Store) Install(ctx context.Context, manifestURL, cid string) (Record, error) {
	if err := checkCID(cid); err != nil {
		return Record{}, fmt.Errorf("install: %w", err)
	}
	if manifestURL == "" {
		return Record{}, fmt.Errorf("install %s: manifest url is required (Store.ManifestURL gives the gateway's)", cid)
	}
	if rec, ok := s.installed(cid); ok {
		return rec, nil
	}
	unlock, err := s.writers.lock(ctx, cid)
	if err != nil {
		return Record{}, fmt.Errorf("install %s: wait for another writer: %w", cid, err)
	}
	defer unlock()
	// The writer this call waited for may have installed it.
	if rec, ok := s.installed(cid); ok {
		return rec, nil
	}

	start := time.Now()
	s.metrics.attempt()
	log := s.log.With().Str("function", cid).Str("manifest_url", manifestURL).Logger()
	log.Debug().Msg("installing function")
	rec, size, err := s.install(ctx, cid, manifestURL)
	s.metrics.done(start, size, err)
	if err != nil {
		return Record{}, fmt.Errorf("install %s: %w", cid, err)
	}
	log.Debug().Int64("archive_bytes", size).Dur("took", time.Since(start)).Msg("function installed")
	return rec, nil
}

func (s *Store) installed(cid string) (Record, bool) {
	if !s.IsInstalled(cid) {
		return Record{}, false
	}
	rec, err := s.Get(cid)
	return rec, err == nil
}

// install does the whole job for one CID: manifest, archive, unpack, move into place, record.
func (s *Store) install(ctx context.Context, cid, manifestURL string) (Record, int64, error) {
	m, err := s.fetchManifest(ctx, manifestURL)
	if err != nil {
		return Record{}, 0, err
	}
	// Checked before the download: without a checksum nothing could be trusted anyway.
	if _, _, err := m.archiveSource(); err != nil {
		return Record{}, 0, fmt.Errorf("manifest %s: %w", manifestURL, err)
	}
	now := time.Now().UTC()
	rec := Record{
		CID:           cid,
		URL:           manifestURL,
		Manifest:      m,
		Archive:       archiveRel(cid),
		Files:         filesRel(cid),
		UpdatedAt:     now,
		LastRetrieved: now,
		InstalledAt:   now,
	}
	rec.Manifest.Deployment.File = rec.Archive
	size, err := s.fetchAndPlace(ctx, &rec)
	if err != nil {
		return Record{}, size, err
	}
	if err := s.commit(rec); err != nil {
		return Record{}, size, err
	}
	return rec, size, nil
}

// fetchAndPlace downloads the archive the record's manifest names, unpacks it and moves both
// into place, setting rec.SHA256. Nothing outside <workspace>/.tmp is touched until the
// archive has been checked and unpacked completely.
func (s *Store) fetchAndPlace(ctx context.Context, rec *Record) (int64, error) {
	uri, sum, err := rec.Manifest.archiveSource()
	if err != nil {
		return 0, fmt.Errorf("manifest: %w", err)
	}
	work, err := s.workDir(rec.CID)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)

	archive := filepath.Join(work, "archive.tar.gz")
	size, err := s.download(ctx, uri, sum, archive)
	if err != nil {
		return size, err
	}
	files := filepath.Join(work, "files")
	if err := s.unpackFile(ctx, archive, files); err != nil {
		return size, err
	}
	if err := s.placeFiles(rec.CID, files, work); err != nil {
		return size, err
	}
	if err := os.Rename(archive, s.archivePath(rec.CID)); err != nil {
		return size, fmt.Errorf("place archive: %w", err)
	}
	rec.SHA256 = hex.EncodeToString(sum)
	return size, nil
}

// unpackFile unpacks the archive at src into the new directory dst.
func (s *Store) unpackFile(ctx context.Context, src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	defer f.Close()
	if err := os.Mkdir(dst, 0o755); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	_, err = unpack(ctx, f, dst, unpackLimits{maxBytes: s.cfg.MaxUnpackedBytes, maxFiles: s.cfg.MaxFiles})
	return err
}

// placeFiles moves the unpacked tree src to <workspace>/<cid> with a rename. A previous tree
// (being repaired) is first moved aside into work, so the swap never mixes the two.
func (s *Store) placeFiles(cid, src, work string) error {
	dst := s.filesDir(cid)
	if _, err := os.Lstat(dst); err == nil {
		if err := os.Rename(dst, filepath.Join(work, "old")); err != nil {
			return fmt.Errorf("place files: move old tree aside: %w", err)
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("place files: %w", err)
	}
	return nil
}

// commit saves the record and publishes it in the index.
func (s *Store) commit(rec Record) error {
	if err := s.saveRecord(rec); err != nil {
		return err
	}
	s.mu.Lock()
	s.index[rec.CID] = rec
	s.mu.Unlock()
	return nil
}

func (s *Store) workDir(cid string) (string, error) {
	dir, err := os.MkdirTemp(filepath.Join(s.cfg.Workspace, tmpDir), cid+"-")
	if err != nil {
		return "", fmt.Errorf("temporary folder: %w", err)
	}
	return dir, nil
}

func (s *Store) filesDir(cid string) string { return filepath.Join(s.cfg.Workspace, cid) }
func (s *Store) archivePath(cid string) string {
	return filepath.Join(s.cfg.Workspace, filepath.FromSlash(archiveRel(cid)))
}
