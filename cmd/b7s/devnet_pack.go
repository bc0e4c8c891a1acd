package main

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

// functionPackage is a WebAssembly module packed the way a Blockless function is published: a
// .tar.gz holding the module at its root, and a manifest that points at the archive (spec §7.1).
type functionPackage struct {
	Name        string // the module's file name, also the method name ("hello.wasm")
	ArchiveName string // "hello.tar.gz"
	Archive     []byte
	Checksum    string // lowercase hex SHA-256 of Archive
	CID         cid.Cid
}

// packFunction reads the module at wasmPath and packs it. The archive is byte-for-byte
// reproducible (fixed header times, no gzip name or time), so the same module always gets the
// same CID and restarting the devnet does not make workers reinstall.
func packFunction(wasmPath string) (functionPackage, error) {
	module, err := os.ReadFile(wasmPath)
	if err != nil {
		return functionPackage{}, fmt.Errorf("read module: %w", err)
	}
	name := filepath.Base(wasmPath)
	archive, err := tarGz(name, module)
	if err != nil {
		return functionPackage{}, fmt.Errorf("pack %s: %w", name, err)
	}
	sum := sha256.Sum256(archive)
	id, err := rawCID(sum[:])
	if err != nil {
		return functionPackage{}, err
	}
	return functionPackage{
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

// manifest is the function's manifest with the archive served at archiveURL. Nodes only read
// deployment.uri and deployment.checksum; the rest describes the function to people.
func (p functionPackage) manifest(archiveURL string) fstore.Manifest {
	base := strings.TrimSuffix(p.Name, filepath.Ext(p.Name))
	return fstore.Manifest{
		ID:          p.CID.String(),
		Name:        base,
		Description: "b7s devnet example function " + p.Name,
		Function:    fstore.ManifestFunction{ID: p.CID.String(), Name: base, Version: "0.1.0", Runtime: "wasm"},
		Deployment: fstore.Deployment{
			CID:      p.CID.String(),
			Checksum: p.Checksum,
			URI:      archiveURL,
			Methods:  []fstore.Method{{Name: p.Name, Entry: p.Name, ResultType: "string"}},
		},
		ContentType: "json",
		Entry:       p.Name,
	}
}

// manifestJSON encodes the manifest as served.
func (p functionPackage) manifestJSON(archiveURL string) ([]byte, error) {
	data, err := json.MarshalIndent(p.manifest(archiveURL), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(data, '\n'), nil
}
