package fstore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"
)

// The test function, built once per test binary with hello.wasm at the archive's root. fstore
// never runs the module, so it is a stand-in: random, so that the archive stays above the 8 KiB
// limit the failure tests set, and seeded, so that a test's CID is the same on every run.
var (
	helloWasm       = standInModule(16 << 10)
	helloTarGz      = mustTarGz(tarEntry{Name: "hello.wasm", Body: helloWasm})
	helloArchiveSHA = sha256Hex(helloTarGz)
	helloWasmSHA    = sha256Hex(helloWasm)
	testCID         = rawCID(helloTarGz)
)

func standInModule(size int) []byte {
	module := make([]byte, size)
	copy(module, "\x00asm\x01\x00\x00\x00")
	rand.NewChaCha8([32]byte{'b', '7', 's'}).Read(module[8:])
	return module
}

// rawCID is the CIDv1 (raw codec, SHA-256) a gateway gives content, as funcpack computes it.
func rawCID(content []byte) string {
	hash, err := mh.Sum(content, mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, hash).String()
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// origin is a test HTTP server on 127.0.0.1 serving routes set by the test, counting hits.
type origin struct {
	srv  *httptest.Server
	mu   sync.Mutex
	h    map[string]http.HandlerFunc
	hits map[string]*atomic.Int64
	stop chan struct{} // closed when the test ends: releases stalling handlers
}

func newOrigin(t testing.TB) *origin {
	t.Helper()
	o := &origin{h: map[string]http.HandlerFunc{}, hits: map[string]*atomic.Int64{}, stop: make(chan struct{})}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		h, ok := o.h[r.URL.Path]
		c := o.hits[r.URL.Path]
		o.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		c.Add(1)
		h(w, r)
	}))
	// Cleanups run last-in first-out: handlers are released before the server waits for them.
	t.Cleanup(o.srv.Close)
	t.Cleanup(func() { close(o.stop) })
	return o
}

func (o *origin) handle(path string, h http.HandlerFunc) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.h[path] = h
	o.hits[path] = new(atomic.Int64)
	return o.srv.URL + path
}

func (o *origin) bytes(path string, body []byte) string {
	return o.handle(path, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
}

func (o *origin) count(path string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c, ok := o.hits[path]; ok {
		return c.Load()
	}
	return 0
}

// stall answers 200, sends prefix, then blocks until the test ends.
func (o *origin) stall(path string, prefix []byte) string {
	return o.handle(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(prefix)
		w.(http.Flusher).Flush()
		select {
		case <-o.stop:
		case <-r.Context().Done():
		}
	})
}

// function serves archive and a manifest pointing at it under /<name>/; it returns the
// manifest URL.
func (o *origin) function(name string, archive []byte) string {
	archiveURL := o.bytes("/"+name+"/archive.tar.gz", archive)
	return o.bytes("/"+name+"/manifest.json", manifestJSON(archiveURL, sha256Hex(archive)))
}

func manifestJSON(archiveURL, checksum string) []byte {
	m := Manifest{
		Name:       "hello",
		Deployment: Deployment{URI: archiveURL, Checksum: checksum, Methods: []Method{{Name: "hello.wasm", Entry: "_start"}}},
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func openDB(t testing.TB, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open bbolt: %v", err)
	}
	return db
}

type testEnv struct {
	parent    string // holds the workspace; nothing else may appear in it
	workspace string
	dbPath    string
	db        *bbolt.DB
	reg       *prometheus.Registry
	store     *Store
}

// newEnv opens a store on a fresh workspace with a fresh DB and registry.
func newEnv(t testing.TB, mutate func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{parent: t.TempDir()}
	e.workspace = filepath.Join(e.parent, "workspace")
	e.dbPath = filepath.Join(t.TempDir(), "node.db")
	e.db = openDB(t, e.dbPath)
	t.Cleanup(func() { e.db.Close() })
	e.open(t, mutate)
	return e
}

func (e *testEnv) open(t testing.TB, mutate func(*Config)) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Workspace = e.workspace
	cfg.IdleTimeout = 5 * time.Second
	cfg.ConnectTimeout = 2 * time.Second
	e.reg = prometheus.NewRegistry()
	cfg.Registerer = e.reg
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg, e.db)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.store = s
	t.Cleanup(func() { s.Close() })
}

// reopen closes the DB and opens it and a new Store again, as a node restart would.
func (e *testEnv) reopen(t testing.TB, mutate func(*Config)) {
	t.Helper()
	if err := e.db.Close(); err != nil {
		t.Fatalf("close db: %v", err)
	}
	e.db = openDB(t, e.dbPath)
	e.open(t, mutate)
}

// snapshot lists every path under dir with its kind and size.
func snapshot(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, rel+" "+info.Mode().String()+" "+sizeOf(info))
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	sort.Strings(out)
	return out
}

func sizeOf(info fs.FileInfo) string {
	if info.IsDir() {
		return "-"
	}
	return strconv.FormatInt(info.Size(), 10)
}

// tarEntry describes one entry of a test archive; Size defaults to len(Body).
type tarEntry struct {
	Name     string
	Type     byte
	Body     []byte
	Size     int64 // with Zero: a file of Size zero bytes, generated while writing
	Zero     bool
	Linkname string
	Mode     int64
}

// buildTarGz makes a .tar.gz from entries.
func buildTarGz(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	b, err := tarGz(entries...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustTarGz is buildTarGz for package variables; writing to memory does not fail.
func mustTarGz(entries ...tarEntry) []byte {
	b, err := tarGz(entries...)
	if err != nil {
		panic(err)
	}
	return b
}

func tarGz(entries ...tarEntry) ([]byte, error) {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	zeros := make([]byte, 64<<10)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Linkname, Mode: e.Mode}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.Body))
			if e.Zero {
				hdr.Size = e.Size
			}
		}
		if hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar header %q: %w", e.Name, err)
		}
		if e.Zero {
			for left := e.Size; left > 0; {
				n := min(left, int64(len(zeros)))
				if _, err := tw.Write(zeros[:n]); err != nil {
					return nil, fmt.Errorf("tar %q: %w", e.Name, err)
				}
				left -= n
			}
		} else if _, err := tw.Write(e.Body); err != nil {
			return nil, fmt.Errorf("tar %q: %w", e.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return sha256Hex(b)
}
