package attest

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/b7s-actor/b7s/messages"
)

// The worked example of the original b7s-attributes format: attributes [OS=Linux, RAM=16GB],
// the node key is the Ed25519 key of seed 32×00, the attestor's of seed 32×01. Every value
// below is given by the format's description, computed independently of this code; the file
// testdata/worked-example.bin is the whole 1307-byte file, pinned by its SHA-256.
const (
	exampleZlib      = "78daf20fb6f5c9cc2bad900f72f4b53534737702040000ffff3112051c"
	exampleNodeID    = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
	exampleNodeSig   = "+H5tXYaIk7kqBBBClTJHdX9WZqzMTnJJgn9SUOnSyiPZlEkO+G6AKtrwa4BFNUdTI1sqeIMrEB1agky5VEmQAg=="
	exampleAttestor  = "12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5"
	exampleAttestSig = "P8mCQfOO+mDMlfLEzT41hGqW+RKL0FjOcbs+sDCvzLTv9V/B0OUURoJeICic+CsnQxFZsGbpNR45ymrpyCT/AA=="
	exampleSHA256    = "96d448fb370c1e35da60ddfdca0c2e6d4e8788c65116d1a499906c1f0456e959"
)

func exampleFile(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/worked-example.bin")
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != exampleSHA256 {
		t.Fatalf("testdata/worked-example.bin has SHA-256 %x, want %s", sum, exampleSHA256)
	}
	return data
}

func TestWorkedExample_EncodesByteForByte(t *testing.T) {
	a := Attestation{Attributes: attrs("OS", "Linux", "RAM", "16GB")}
	if got := string(a.plainBytes()); got != "OS=Linux\x1fRAM=16GB" {
		t.Fatalf("plain bytes %q", got)
	}
	if err := Sign(&a, seedKey(t, 0)); err != nil {
		t.Fatal(err)
	}
	if a.Signature.Signer.String() != exampleNodeID || a.Signature.Signature != exampleNodeSig {
		t.Fatalf("node signature %+v, want %s %s", a.Signature, exampleNodeID, exampleNodeSig)
	}
	if p := a.attestPayload(); len(p) != 158 {
		t.Fatalf("attest payload is %d bytes, want 158", len(p))
	}
	if err := AddAttestor(&a, seedKey(t, 1)); err != nil {
		t.Fatal(err)
	}
	if s := a.Attestors[0]; s.Signer.String() != exampleAttestor || s.Signature != exampleAttestSig {
		t.Fatalf("attestor %+v, want %s %s", s, exampleAttestor, exampleAttestSig)
	}
	got, err := Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	want := exampleFile(t)
	if !bytes.Equal(got, want) {
		zlibBytes, _ := hex.DecodeString(exampleZlib)
		t.Fatalf("encoded file differs from the worked example\nblock starts % x\nwant         % x", got[:len(zlibBytes)], zlibBytes)
	}
	// The layout, field by field.
	zlibBytes, _ := hex.DecodeString(exampleZlib)
	layout := []struct {
		name     string
		from, to int
		want     []byte
	}{
		{"zlib stream", 0, 29, zlibBytes},
		{"padding", 29, 1024, make([]byte, 995)},
		{"node ID", 1024, 1076, []byte(exampleNodeID)},
		{"separator", 1076, 1077, []byte{0x1f}},
		{"node signature", 1077, 1165, []byte(exampleNodeSig)},
		{"separator", 1165, 1166, []byte{0x1f}},
		{"attestor ID", 1166, 1218, []byte(exampleAttestor)},
		{"separator", 1218, 1219, []byte{0x1f}},
		{"attestor signature", 1219, 1307, []byte(exampleAttestSig)},
	}
	for _, f := range layout {
		if !bytes.Equal(got[f.from:f.to], f.want) {
			t.Errorf("%s at %d..%d: % x", f.name, f.from, f.to-1, got[f.from:f.to])
		}
	}
}

func TestWorkedExample_DecodesAndVerifies(t *testing.T) {
	a, err := Decode(exampleFile(t))
	if err != nil {
		t.Fatal(err)
	}
	want := Attestation{
		Attributes: attrs("OS", "Linux", "RAM", "16GB"),
		Signature:  &Signature{Signer: peer.ID(mustDecodeID(t, exampleNodeID)), Signature: exampleNodeSig},
		Attestors:  []Signature{{Signer: mustDecodeID(t, exampleAttestor), Signature: exampleAttestSig}},
	}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("decoded %+v\nwant    %+v", a, want)
	}
	if err := Verify(a); err != nil {
		t.Fatal(err)
	}
}

func mustDecodeID(t *testing.T, s string) peer.ID {
	t.Helper()
	id, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// file builds an attestation file by hand: a zlib block of plain, padded, then tail.
func file(t *testing.T, plain, tail string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	w.Write([]byte(plain))
	w.Close()
	out := make([]byte, BlockSize)
	copy(out, b.Bytes())
	return append(out, tail...)
}

// Decode is as permissive as the original's import: what it accepts, we accept.
func TestDecode_AcceptsWhatTheOriginalAccepts(t *testing.T) {
	node, other := exampleNodeID, exampleAttestor
	cidForm := peer.ToCid(mustDecodeID(t, node)).String() // bafz…: the same ID as a CID
	cases := []struct {
		name string
		data []byte
		want Attestation
	}{
		{"unsigned", file(t, "a=1", ""), Attestation{Attributes: attrs("a", "1")}},
		{"empty name and empty value", file(t, "=x\x1fy=", ""), Attestation{Attributes: attrs("", "x", "y", "")}},
		{"value with '='", file(t, "k=a=b", ""), Attestation{Attributes: attrs("k", "a=b")}},
		{"duplicate names kept in order", file(t, "k=1\x1fk=2", ""), Attestation{Attributes: attrs("k", "1", "k", "2")}},
		{"node signature only: attestors nil", file(t, "a=1", node+"\x1fsig"),
			Attestation{Attributes: attrs("a", "1"), Signature: &Signature{Signer: mustDecodeID(t, node), Signature: "sig"}}},
		{"attestors", file(t, "a=1", node+"\x1fs1\x1f"+other+"\x1fs2"),
			Attestation{Attributes: attrs("a", "1"), Signature: &Signature{Signer: mustDecodeID(t, node), Signature: "s1"},
				Attestors: []Signature{{Signer: mustDecodeID(t, other), Signature: "s2"}}}},
		{"CID form of a peer ID", file(t, "a=1", cidForm+"\x1fsig"),
			Attestation{Attributes: attrs("a", "1"), Signature: &Signature{Signer: mustDecodeID(t, node), Signature: "sig"}}},
		{"empty signature text and a trailing newline kept verbatim", file(t, "a=1", node+"\x1f\x1f"+other+"\x1fs\n"),
			Attestation{Attributes: attrs("a", "1"), Signature: &Signature{Signer: mustDecodeID(t, node)},
				Attestors: []Signature{{Signer: mustDecodeID(t, other), Signature: "s\n"}}}},
		{"padding is not checked", func() []byte {
			d := file(t, "a=1", "")
			d[BlockSize-1] = 0xff
			return d
		}(), Attestation{Attributes: attrs("a", "1")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decode(c.data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestDecode_RefusesWithTheReason(t *testing.T) {
	good := file(t, "a=1", "")
	badChecksum := bytes.Clone(good)
	badChecksum[len(zlibOf(t, "a=1"))-1] ^= 0xff
	// A stream whose end lies beyond the 1024-byte block: 2 kB of pseudo-random bytes.
	noise := make([]byte, 2048)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	pastBlock := zlibOf(t, "a="+string(noise))[:BlockSize]
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"shorter than the block", good[:BlockSize-1], "1023 bytes, shorter than the 1024-byte attribute block"},
		{"empty", nil, "0 bytes"},
		{"not zlib", make([]byte, BlockSize), "attribute block"},
		{"bad checksum", badChecksum, "checksum"},
		{"stream runs past the block", pastBlock, "does not end within 1024 bytes"},
		{"record without '='", file(t, "a=1\x1fnovalue", ""), `attribute record 1 ("novalue") has no '='`},
		{"no attributes", file(t, "", ""), `attribute record 0 ("") has no '='`},
		{"odd field count", file(t, "a=1", exampleNodeID), "1 fields"},
		{"odd field count after attestors", file(t, "a=1", exampleNodeID+"\x1fs\x1f"+exampleAttestor), "3 fields"},
		{"bad node ID", file(t, "a=1", "nobody\x1fs"), `node signature: signer "nobody" is not a peer ID`},
		{"bad attestor ID", file(t, "a=1", exampleNodeID+"\x1fs\x1fx\x1fs"), `attestor 1: signer "x" is not a peer ID`},
		{"ID that cannot be written back", file(t, "a=1", oddCID(t)+"\x1fs"), "cannot be written back as a peer ID"},
		{"too large", append(bytes.Clone(good), make([]byte, MaxFileBytes)...), "more than the 1048576 this node reads"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// oddCID is a libp2p-key CID whose multihash is neither identity nor sha2-256: peer.Decode
// takes it, but its base58 form does not decode.
func oddCID(t *testing.T) string {
	t.Helper()
	mh, err := multihash.Sum([]byte("key"), multihash.SHA2_512, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.Libp2pKey, mh).String()
}

func zlibOf(t testing.TB, plain string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	w.Write([]byte(plain))
	w.Close()
	return b.Bytes()
}

// The block bounds what it inflates to: at deflate's best ratio (about 1032:1) a full block
// holds about a megabyte of attributes, which decodes; nothing larger fits.
func TestDecode_TheBlockBoundsTheInflatedSize(t *testing.T) {
	const fits, tooMuch = 1_020_000, 1_040_000
	block := zlibOf(t, "a="+strings.Repeat("x", fits))
	if len(block) > BlockSize {
		t.Fatalf("%d bytes compress to %d, more than the block", fits, len(block))
	}
	data := make([]byte, BlockSize)
	copy(data, block)
	a, err := Decode(data)
	if err != nil || len(a.Attributes[0].Value) != fits {
		t.Fatalf("largest block: %v", err)
	}
	if n := len(zlibOf(t, "a="+strings.Repeat("x", tooMuch))); n <= BlockSize {
		t.Fatalf("%d bytes compress to %d, within the block", tooMuch, n)
	}
}

func TestEncode_RefusesWhatTheFormatCannotCarry(t *testing.T) {
	sig := &Signature{Signer: mustDecodeID(t, exampleNodeID), Signature: "s"}
	var many []string
	for i := range 400 {
		many = append(many, hex.EncodeToString([]byte{byte(i), byte(i >> 8), byte(i * 31)}), hex.EncodeToString([]byte{byte(i * 17), byte(i * 5), 1, 2}))
	}
	cases := []struct {
		name string
		a    Attestation
		want string
	}{
		{"no attributes", Attestation{}, "at least one attribute"},
		{"'=' in a name", Attestation{Attributes: attrs("a=b", "1")}, `attribute 0 ("a=b"): a name cannot contain '='`},
		{"separator in a name", Attestation{Attributes: attrs("a\x1f", "1")}, "a name cannot contain"},
		{"separator in a value", Attestation{Attributes: attrs("ok", "1", "a", "x\x1fy")}, `attribute 1 ("a"): a value cannot contain`},
		{"attestors without a node signature", Attestation{Attributes: attrs("a", "1"), Attestors: []Signature{*sig}}, "attestors need a node signature"},
		{"separator in a signature", Attestation{Attributes: attrs("a", "1"), Signature: &Signature{Signer: sig.Signer, Signature: "x\x1f"}}, "contains the 0x1F separator"},
		{"no signer", Attestation{Attributes: attrs("a", "1"), Signature: &Signature{Signature: "s"}}, "no signer"},
		{"too large for the block", Attestation{Attributes: attrs(many...)}, "attribute data too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Encode(c.a)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestEncodeDecode_RoundTripsEveryShape(t *testing.T) {
	node, a1, a2 := seedKey(t, 0), seedKey(t, 1), newKey(t, crypto.Secp256k1)
	cases := map[string]Attestation{
		"unsigned":          {Attributes: attrs("region", "eu")},
		"node signature":    signed(t, node, nil, "region", "eu", "RAM", "16GB"),
		"two attestors":     signed(t, node, []crypto.PrivKey{a1, a2}, "region", "eu"),
		"unicode and empty": signed(t, node, []crypto.PrivKey{a1}, "ville", "Zürich", "", "", "k", "a=b"),
	}
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := Encode(a)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, a) {
				t.Fatalf("round trip\n got %#v\nwant %#v", back, a)
			}
			if err := Verify(back); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// FuzzDecode: no input crashes the decoder or the matcher after it, and what it accepts is written
// back to the same meaning: the plain attribute bytes and the signature section parse again to the
// same attestation. The fuzzer varies the zlib stream and the signature section; the harness pads
// the stream to the block (or cuts it there), so inputs stay small and quick to minimize.
// Compression and signature checks are the standard library's and libp2p's, covered by the tests
// above; under the fuzzer's instrumentation they would take nearly all of its time.
func FuzzDecode(f *testing.F) {
	example, err := os.ReadFile("testdata/worked-example.bin")
	if err != nil {
		f.Fatal(err)
	}
	stream := example[:len(zlibOf(f, "OS=Linux\x1fRAM=16GB"))]
	f.Add(stream, example[BlockSize:])
	f.Add(stream, []byte{})
	f.Add(zlibOf(f, "a=1\x1f=\x1fb=c=d"), []byte(exampleNodeID+"\x1fs"))
	f.Fuzz(func(t *testing.T, stream, tail []byte) {
		data := make([]byte, BlockSize, BlockSize+len(tail))
		copy(data, stream)
		a, err := Decode(append(data, tail...))
		if err != nil {
			return
		}
		_ = NewIndex(a).Match(&messages.Attributes{AttestationRequired: true, Values: []messages.Parameter{{Name: "a", Value: "b"}}})
		attrs, err := parseAttributes(a.plainBytes())
		if err != nil || !reflect.DeepEqual(attrs, a.Attributes) {
			t.Fatalf("attributes do not survive being written: %v\n got %q\nwant %q", err, attrs, a.Attributes)
		}
		node, attestors, err := parseSignatures(a.appendSignatureSection(nil))
		if err != nil || !reflect.DeepEqual(node, a.Signature) || !reflect.DeepEqual(attestors, a.Attestors) {
			t.Fatalf("signatures do not survive being written: %v\n got %+v %+v\nwant %+v %+v", err, node, attestors, a.Signature, a.Attestors)
		}
	})
}
