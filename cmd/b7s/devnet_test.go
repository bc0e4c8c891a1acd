package main

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
	"strconv"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

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

func TestPackFunction_ArchiveHoldsExactlyTheModuleAtItsRoot(t *testing.T) {
	path, module := writeModule(t)
	pkg, err := packFunction(path)
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

func TestPackFunction_ManifestChecksumMatchesArchive(t *testing.T) {
	path, _ := writeModule(t)
	pkg, err := packFunction(path)
	if err != nil {
		t.Fatal(err)
	}
	const archiveURL = "http://127.0.0.1:1/x/hello.tar.gz"
	data, err := pkg.manifestJSON(archiveURL)
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

func TestPackFunction_CIDIsRawSHA256OfArchive(t *testing.T) {
	path, _ := writeModule(t)
	pkg, err := packFunction(path)
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

func TestPackFunction_SameModuleSameCID(t *testing.T) {
	path, _ := writeModule(t)
	a, err := packFunction(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := packFunction(path)
	if err != nil {
		t.Fatal(err)
	}
	if !a.CID.Equals(b.CID) || !bytes.Equal(a.Archive, b.Archive) {
		t.Errorf("two packs of one module differ: %s vs %s", a.CID, b.CID)
	}
}

func TestPackFunction_MissingModuleSaysSo(t *testing.T) {
	_, err := packFunction(filepath.Join(t.TempDir(), "nope.wasm"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestFunctionServer_ServesManifestAndArchiveUnderTheCID(t *testing.T) {
	path, _ := writeModule(t)
	pkg, err := packFunction(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serveFunction(pkg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if got := strings.ReplaceAll(srv.GatewayTemplate(), "{cid}", pkg.CID.String()); got != srv.ManifestURL {
		t.Errorf("gateway template gives %s, want the manifest URL %s", got, srv.ManifestURL)
	}
	manifest := httpGet(t, srv.ManifestURL)
	m, err := fstore.ParseManifest(manifest, srv.ManifestURL)
	if err != nil {
		t.Fatal(err)
	}
	if m.Deployment.URI != srv.ArchiveURL {
		t.Errorf("served manifest points at %s, want %s", m.Deployment.URI, srv.ArchiveURL)
	}
	if archive := httpGet(t, m.Deployment.URI); !bytes.Equal(archive, pkg.Archive) {
		t.Errorf("served archive (%d bytes) is not the packed one (%d bytes)", len(archive), len(pkg.Archive))
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

func TestPlanDevnet_WorkersBootFromHeadWithGatewayAndOwnPorts(t *testing.T) {
	cfg := defaultDevnetConfig()
	cfg.Dir = t.TempDir()
	cfg.Workers = 2
	const gateway = "http://127.0.0.1:1234/{cid}/manifest.json"
	nodes, err := planDevnet(cfg, gateway)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 || nodes[0].Name != "head" || nodes[2].Name != "worker2" {
		t.Fatalf("nodes = %+v, want head, worker1, worker2", nodes)
	}
	head := nodes[0]
	if !slices.Contains(head.args(), "--rest-api") || slices.Contains(head.args(), "--boot-nodes") {
		t.Errorf("head args %q: want --rest-api and no --boot-nodes", head.args())
	}
	for k, w := range nodes[1:] {
		args := strings.Join(w.args(), " ")
		for _, want := range []string{
			"--role worker", "--address 127.0.0.1", "--boot-nodes " + head.Multiaddr(), "--gateway " + gateway,
			"--enable-metrics", "--prometheus-address " + w.HTTP, "--private-key " + w.KeyPath,
		} {
			if !strings.Contains(args, want) {
				t.Errorf("%s args %q lack %q", w.Name, args, want)
			}
		}
		if w.Port != cfg.BasePort+k+1 || w.HTTP != "127.0.0.1:"+strconv.Itoa(cfg.MetricsBasePort+k) {
			t.Errorf("%s: port %d http %s; want %d and 127.0.0.1:%d", w.Name, w.Port, w.HTTP, cfg.BasePort+k+1, cfg.MetricsBasePort+k)
		}
	}
	// Keys stay in the directory: planning again gives the same peer IDs.
	again, err := planDevnet(cfg, gateway)
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		if nodes[i].PeerID != again[i].PeerID {
			t.Errorf("%s: peer ID changed from %s to %s", nodes[i].Name, nodes[i].PeerID, again[i].PeerID)
		}
	}
}

func TestPrepareDevnetDir_WipesItsOwnButRefusesAForeignDirectory(t *testing.T) {
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "precious.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareDevnetDir(foreign); err == nil {
		t.Fatal("prepareDevnetDir wiped a directory it did not make")
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious.txt")); err != nil {
		t.Fatalf("foreign file gone: %v", err)
	}

	ours := filepath.Join(t.TempDir(), "devnet")
	if err := prepareDevnetDir(ours); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(ours, "worker1.log")
	if err := os.WriteFile(stale, []byte("old run"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareDevnetDir(ours); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale file survived the wipe: %v", err)
	}
}

func TestDevnetConfig_RejectsNonLoopbackRESTAndBadCounts(t *testing.T) {
	for name, mutate := range map[string]func(*devnetConfig){
		"public rest api": func(c *devnetConfig) { c.RestAPI = "0.0.0.0:8080" },
		"no workers":      func(c *devnetConfig) { c.Workers = 0 },
		"ports overflow":  func(c *devnetConfig) { c.BasePort = 65535 },
	} {
		cfg := defaultDevnetConfig()
		mutate(&cfg)
		if err := cfg.validate(); err == nil {
			t.Errorf("%s: validate accepted %+v", name, cfg)
		}
	}
	if err := defaultDevnetConfig().validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}
