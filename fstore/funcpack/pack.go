package funcpack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/b7s-actor/b7s/fstore"
)

// Function is a WebAssembly module packed for publishing.
type Function struct {
	Name        string // the module's file name, also the method name ("hello.wasm")
	ArchiveName string // "hello.tar.gz"
	Archive     []byte
	Checksum    string // lowercase hex SHA-256 of Archive
	CID         cid.Cid
}

// PackFile reads the module at path and packs it under its file name.
func PackFile(path string) (Function, error) {
	module, err := os.ReadFile(path)
	if err != nil {
		return Function{}, fmt.Errorf("read module: %w", err)
	}
	return Pack(filepath.Base(path), module)
}

// Pack packs module as the file name at the archive's root. The archive is byte-for-byte
// reproducible (fixed header times, no gzip name or time), so the same module always gets the
// same CID and a restarted network does not make workers reinstall.
func Pack(name string, module []byte) (Function, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return Function{}, fmt.Errorf("pack: module name %q must be a plain file name", name)
	}
	archive, err := tarGz(name, module)
	if err != nil {
		return Function{}, fmt.Errorf("pack %s: %w", name, err)
	}
	sum := sha256.Sum256(archive)
	id, err := rawCID(sum[:])
	if err != nil {
		return Function{}, err
	}
	return Function{
		Name:        name,
		ArchiveName: strings.TrimSuffix(name, filepath.Ext(name)) + ".tar.gz",
		Archive:     archive,
		Checksum:    hex.EncodeToString(sum[:]),
		CID:         id,
	}, nil
}

// tarGz returns a gzip-compressed tar with one regular file, name, at its root.
func tarGz(name string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), Format: tar.FormatUSTAR}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rawCID is the CIDv1 of content whose SHA-256 is digest, with the raw codec (bafk…).
func rawCID(digest []byte) (cid.Cid, error) {
	hash, err := mh.Encode(digest, mh.SHA2_256)
	if err != nil {
		return cid.Undef, fmt.Errorf("multihash: %w", err)
	}
	return cid.NewCidV1(cid.Raw, hash), nil
}

// Manifest is the function's manifest with the archive served at archiveURL. Nodes only read
// deployment.uri and deployment.checksum; the rest describes the function to people.
func (f Function) Manifest(archiveURL string) fstore.Manifest {
	base := strings.TrimSuffix(f.Name, filepath.Ext(f.Name))
	return fstore.Manifest{
		ID:          f.CID.String(),
		Name:        base,
		Description: "b7s example function " + f.Name,
		Function:    fstore.ManifestFunction{ID: f.CID.String(), Name: base, Version: "0.1.0", Runtime: "wasm"},
		Deployment: fstore.Deployment{
			CID:      f.CID.String(),
			Checksum: f.Checksum,
			URI:      archiveURL,
			Methods:  []fstore.Method{{Name: f.Name, Entry: f.Name, ResultType: "string"}},
		},
		ContentType: "json",
		Entry:       f.Name,
	}
}

// ManifestJSON encodes the manifest as served.
func (f Function) ManifestJSON(archiveURL string) ([]byte, error) {
	data, err := json.MarshalIndent(f.Manifest(archiveURL), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(data, '\n'), nil
}
