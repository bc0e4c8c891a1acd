package funcpack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"go.etcd.io/bbolt"

	"github.com/b7s-actor/b7s/fstore"
)

// writeModule writes a stand-in module; packing does not look inside it.
func writeModule(t *testing.T) (string, []byte) {
	t.Helper()
	module := append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("b7s"), 1000)...)
	path := filepath.Join(t.TempDir(), "hello.wasm")
	if err := os.WriteFile(path, module, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, module
}

func TestPack_ArchiveHoldsExactlyTheModuleAtItsRoot(t *testing.T) {
	path, module := writeModule(t)
	pkg, err := PackFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "hello.wasm" || pkg.ArchiveName != "hello.tar.gz" {
		t.Errorf("names = %q, %q; want hello.wasm, hello.tar.gz", pkg.Name, pkg.ArchiveName)
	}
	zr, err := gzip.NewReader(bytes.NewReader(pkg.Archive))
	if err != nil {
		t.Fatalf("archive is not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("archive is not a tar: %v", err)
		}
		names = append(names, hdr.Name)
		if hdr.Typeflag != tar.TypeReg {
			t.Errorf("entry %s has type %c, want a regular file", hdr.Name, hdr.Typeflag)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, module) {
			t.Errorf("entry %s: %d bytes differ from the %d-byte module", hdr.Name, len(data), len(module))
		}
	}
	if !slices.Equal(names, []string{"hello.wasm"}) {
		t.Errorf("archive entries = %q, want exactly [hello.wasm]", names)
	}
}

func TestPack_ManifestChecksumMatchesArchive(t *testing.T) {
	path, _ := writeModule(t)
	pkg, err := PackFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const archiveURL = "http://127.0.0.1:1/x/hello.tar.gz"
	data, err := pkg.ManifestJSON(archiveURL)
	if err != nil {
		t.Fatal(err)
	}
	// Parse it the way a worker does.
	m, err := fstore.ParseManifest(data, "http://127.0.0.1:1/x/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pkg.Archive)
	if m.Deployment.Checksum != hex.EncodeToString(sum[:]) {
		t.Errorf("deployment.checksum = %s, want sha256 of the archive %x", m.Deployment.Checksum, sum)
	}
	if m.Deployment.URI != archiveURL {
		t.Errorf("deployment.uri = %q, want %q", m.Deployment.URI, archiveURL)
	}
	if len(m.Deployment.Methods) != 1 || m.Deployment.Methods[0].Name != "hello.wasm" {
		t.Errorf("deployment.methods = %+v, want one method hello.wasm", m.Deployment.Methods)
	}
	if m.Function.Name != "hello" || m.Deployment.CID != pkg.CID.String() {
		t.Errorf("function name %q, deployment.cid %q; want hello, %s", m.Function.Name, m.Deployment.CID, pkg.CID)
	}
}

func TestPack_CIDIsRawSHA256OfArchive(t *testing.T) {
	path, _ := writeModule(t)
	pkg, err := PackFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := pkg.CID.String()
	if !strings.HasPrefix(s, "bafk") {
		t.Errorf("CID %s: want a base32 CIDv1 with the raw codec (bafk…)", s)
	}
	c, err := cid.Decode(s)
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	if c.Version() != 1 || c.Type() != cid.Raw {
		t.Errorf("CID version %d codec %#x, want 1 and raw (%#x)", c.Version(), c.Type(), cid.Raw)
	}
	dec, err := mh.Decode(c.Hash())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pkg.Archive)
	if dec.Code != mh.SHA2_256 || !bytes.Equal(dec.Digest, sum[:]) {
		t.Errorf("multihash code %#x digest %x, want sha2-256 %x", dec.Code, dec.Digest, sum)
	}
}

func TestPack_SameModuleSameCID(t *testing.T) {
	path, _ := writeModule(t)
	a, err := PackFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := PackFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !a.CID.Equals(b.CID) || !bytes.Equal(a.Archive, b.Archive) {
		t.Errorf("two packs of one module differ: %s vs %s", a.CID, b.CID)
	}
}

func TestPack_MissingModuleSaysSo(t *testing.T) {
	_, err := PackFile(filepath.Join(t.TempDir(), "nope.wasm"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping os.ErrNotExist", err)
	}
}

// served packs a stand-in module and serves it until the test ends.
func served(t *testing.T) (Function, []byte, *Server) {
	t.Helper()
	path, module := writeModule(t)
	pkg, err := PackFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Serve(pkg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return pkg, module, srv
}

func TestServe_ServesManifestAndArchiveUnderTheCID(t *testing.T) {
	pkg, _, srv := served(t)
	manifestURL := srv.ManifestURL(pkg)
	if got := strings.ReplaceAll(srv.GatewayTemplate(), "{cid}", pkg.CID.String()); got != manifestURL {
		t.Errorf("gateway template gives %s, want the manifest URL %s", got, manifestURL)
	}
	manifest := httpGet(t, manifestURL)
	m, err := fstore.ParseManifest(manifest, manifestURL)
	if err != nil {
		t.Fatal(err)
	}
	if m.Deployment.URI != srv.ArchiveURL(pkg) {
		t.Errorf("served manifest points at %s, want %s", m.Deployment.URI, srv.ArchiveURL(pkg))
	}
	if archive := httpGet(t, m.Deployment.URI); !bytes.Equal(archive, pkg.Archive) {
		t.Errorf("served archive (%d bytes) is not the packed one (%d bytes)", len(archive), len(pkg.Archive))
	}
	if srv.Manifests() != 1 || srv.Archives() != 1 {
		t.Errorf("served %d manifests and %d archives, want 1 and 1", srv.Manifests(), srv.Archives())
	}
	resp, err := http.Get(srv.ManifestURL(pkg) + "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown file: %s, want 404", resp.Status)
	}
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// What the devnet offers must be what a worker installs: the store takes the served package by
// its CID and the module lands at the method's path.
func TestServe_PackageInstallsThroughTheStore(t *testing.T) {
	pkg, module, srv := served(t)
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "node.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := fstore.DefaultConfig()
	cfg.Workspace = t.TempDir()
	cfg.GatewayTemplate = srv.GatewayTemplate()
	store, err := fstore.New(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	id := pkg.CID.String()
	if _, err := store.Install(t.Context(), store.ManifestURL(id), id); err != nil {
		t.Fatalf("Install: %v", err)
	}
	fnPath, err := store.FunctionPath(id, pkg.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(fnPath); err != nil || !bytes.Equal(got, module) {
		t.Errorf("installed %s: %d bytes, %v; want the %d-byte module", pkg.Name, len(got), err, len(module))
	}
	if srv.Manifests() != 1 || srv.Archives() != 1 {
		t.Errorf("served %d manifests and %d archives, want 1 and 1", srv.Manifests(), srv.Archives())
	}
}
