package attest

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The original b7s-attributes format (attributes.bin):
//
//	bytes 0..1023  the attribute block: a zlib stream (level 9) of the plain attribute bytes,
//	               padded with zeros to exactly 1024 bytes
//	bytes 1024..   the signature section, ASCII fields joined by 0x1F:
//	               [ nodeID 0x1F nodeSig ] ( 0x1F attestorID 0x1F attestorSig )*
//
// There is no magic number, version or length prefix. IDs are base58 peer IDs, signatures the
// standard padded base64 of the raw signature.
const (
	// BlockSize is the size of the attribute block.
	BlockSize = 1024
	// MaxFileBytes bounds what this node reads as an attestation (file or download). The original
	// has no bound; a thousand attestors take about 150 kB. The attribute block needs no bound of
	// its own: deflate expands at most about 1032:1, so 1024 bytes inflate to about 1 MB at most.
	MaxFileBytes = 1 << 20
)

// Encode writes a in the original's format, byte-compatible with its Export (Go's zlib at
// BestCompression, so the compressed block is byte-identical to the original's for the same
// toolchain's deflate). It refuses what the format cannot carry or the block cannot hold.
func Encode(a Attestation) ([]byte, error) {
	if err := a.checkEncodable(); err != nil {
		return nil, fmt.Errorf("encode attestation: %w", err)
	}
	var block bytes.Buffer
	w, err := zlib.NewWriterLevel(&block, zlib.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("encode attestation: %w", err)
	}
	if _, err := w.Write(a.plainBytes()); err != nil {
		return nil, fmt.Errorf("encode attestation: compress: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode attestation: compress: %w", err)
	}
	if block.Len() > BlockSize {
		return nil, fmt.Errorf("encode attestation: attribute data too large: %d bytes compressed, the block holds %d", block.Len(), BlockSize)
	}
	out := make([]byte, BlockSize, BlockSize+len(a.signatures())*150)
	copy(out, block.Bytes())
	return a.appendSignatureSection(out), nil
}

// appendSignatureSection appends the node signature, then each attestor, joined by the
// separator; nothing when unsigned.
func (a Attestation) appendSignatureSection(out []byte) []byte {
	if a.Signature != nil {
		out = appendSignature(out, *a.Signature)
	}
	for _, s := range a.Attestors {
		out = append(out, Separator)
		out = appendSignature(out, s)
	}
	return out
}

func appendSignature(b []byte, s Signature) []byte {
	b = append(b, s.Signer.String()...)
	b = append(b, Separator)
	return append(b, s.Signature...)
}

// Decode reads an attestation as the original's ImportAttestation does: the zlib stream in the
// first 1024 bytes (padding after it ignored), records split on 0x1F and each at its first '=',
// then the signature fields, which must come in pairs. It does not verify signatures (Verify
// does); errors name the record or field at fault.
func Decode(data []byte) (Attestation, error) {
	var a Attestation
	if len(data) < BlockSize {
		return a, fmt.Errorf("decode attestation: %d bytes, shorter than the %d-byte attribute block", len(data), BlockSize)
	}
	if len(data) > MaxFileBytes {
		return a, fmt.Errorf("decode attestation: %d bytes, more than the %d this node reads", len(data), MaxFileBytes)
	}
	plain, err := inflate(data[:BlockSize])
	if err != nil {
		return a, fmt.Errorf("decode attestation: attribute block: %w", err)
	}
	if a.Attributes, err = parseAttributes(plain); err != nil {
		return a, fmt.Errorf("decode attestation: %w", err)
	}
	if a.Signature, a.Attestors, err = parseSignatures(data[BlockSize:]); err != nil {
		return a, fmt.Errorf("decode attestation: %w", err)
	}
	return a, nil
}

func inflate(block []byte) ([]byte, error) {
	r, err := zlib.NewReader(bytes.NewReader(block))
	if err != nil {
		return nil, err
	}
	plain, err := io.ReadAll(r)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("the zlib stream does not end within %d bytes: %w", BlockSize, err)
	}
	return plain, err
}

func parseAttributes(plain []byte) ([]Attribute, error) {
	records := bytes.Split(plain, []byte{Separator})
	attrs := make([]Attribute, 0, len(records))
	for i, rec := range records {
		name, value, ok := bytes.Cut(rec, []byte{'='})
		if !ok {
			return nil, fmt.Errorf("attribute record %d (%q) has no '='", i, rec)
		}
		attrs = append(attrs, Attribute{Name: string(name), Value: string(value)})
	}
	return attrs, nil
}

func parseSignatures(tail []byte) (*Signature, []Signature, error) {
	if len(tail) == 0 {
		return nil, nil, nil
	}
	fields := bytes.Split(tail, []byte{Separator})
	if len(fields)%2 != 0 {
		return nil, nil, fmt.Errorf("signature section has %d fields; they must come in signer/signature pairs", len(fields))
	}
	var sigs []Signature
	for i := 0; i < len(fields); i += 2 {
		entry := entryName(i / 2)
		id, err := peer.Decode(string(fields[i]))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: signer %q is not a peer ID: %w", entry, fields[i], err)
		}
		// peer.Decode takes a CID with any multihash, but writes back as base58, which it reads
		// only for identity and sha2-256 multihashes (what real peer IDs use): such an ID could
		// not be written again, nor verified.
		if back, err := peer.Decode(id.String()); err != nil || back != id {
			return nil, nil, fmt.Errorf("%s: signer %q cannot be written back as a peer ID", entry, fields[i])
		}
		sigs = append(sigs, Signature{Signer: id, Signature: string(fields[i+1])})
	}
	node := sigs[0]
	if len(sigs) == 1 {
		return &node, nil, nil
	}
	return &node, sigs[1:], nil
}

// entryName names signature entry i of a file: 0 is the node's, then attestors from 1.
func entryName(i int) string {
	if i == 0 {
		return "node signature"
	}
	return fmt.Sprintf("attestor %d", i)
}
