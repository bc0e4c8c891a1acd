package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/p2p"
)

// keyFile writes a key of typ to a directory of its own and returns its priv.bin and peer ID.
func keyFile(t *testing.T, typ int) (string, peer.ID) {
	t.Helper()
	key, _, err := crypto.GenerateKeyPair(typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := p2p.WriteKeyFiles(dir, key); err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, p2p.PrivKeyFile), id
}

func runB7s(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func readAttestationFile(t *testing.T, path string) attest.Attestation {
	t.Helper()
	a, err := readAttestation(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A worker's operator makes and signs the file; an attestor who holds only their own key adds
// their signature with --in; show prints it and checks every signature.
func TestAttest_MakeAttestShow(t *testing.T) {
	workerKey, workerID := keyFile(t, crypto.Ed25519)
	a1Key, a1 := keyFile(t, crypto.Ed25519)
	a2Key, a2 := keyFile(t, crypto.Secp256k1)
	file := filepath.Join(t.TempDir(), "attributes.bin")

	code, out, errOut := runB7s("attest", "--key", workerKey, "--attestor", a1Key, "--out", file, "region=eu", "tier=gold", "note=a=b")
	if code != 0 || !strings.Contains(out, "wrote "+file+": 3 attribute(s), signed by "+workerID.String()+", 1 attestor(s)") {
		t.Fatalf("make: exit %d\n%s%s", code, out, errOut)
	}
	a := readAttestationFile(t, file)
	want := []attest.Attribute{{Name: "region", Value: "eu"}, {Name: "tier", Value: "gold"}, {Name: "note", Value: "a=b"}}
	if err := attest.Verify(a); err != nil || a.Signature.Signer != workerID || len(a.Attestors) != 1 || a.Attestors[0].Signer != a1 ||
		len(a.Attributes) != 3 || a.Attributes[0] != want[0] || a.Attributes[1] != want[1] || a.Attributes[2] != want[2] {
		t.Fatalf("file %+v (%v)", a, err)
	}

	if code, out, errOut := runB7s("attest", "--in", file, "--attestor", a2Key, "--out", file); code != 0 {
		t.Fatalf("add attestor: exit %d\n%s%s", code, out, errOut)
	}
	a = readAttestationFile(t, file)
	if err := attest.Verify(a); err != nil || len(a.Attestors) != 2 || a.Attestors[1].Signer != a2 {
		t.Fatalf("after --in: %+v (%v)", a, err)
	}

	code, out, errOut = runB7s("attest", "show", file)
	for _, w := range []string{"  region=eu\n", "  note=a=b\n", "signed by " + workerID.String() + " (IPNS name " + attest.IPNSName(workerID) + ")",
		"attested by " + a1.String(), "attested by " + a2.String(), "signatures: ok"} {
		if !strings.Contains(out, w) {
			t.Errorf("show lacks %q:\n%s", w, out)
		}
	}
	if code != 0 || errOut != "" {
		t.Fatalf("show: exit %d %s", code, errOut)
	}

	code, out, _ = runB7s("attest", "show", "--json", file)
	var shown struct {
		Attributes []attest.Attribute `json:"attributes"`
		Signature  attest.Signature   `json:"signature"`
		Attestors  []attest.Signature `json:"attestors"`
		IPNSName   string             `json:"ipns_name"`
		Verified   bool               `json:"verified"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || code != 0 || !shown.Verified || len(shown.Attributes) != 3 ||
		shown.Signature.Signer != workerID || len(shown.Attestors) != 2 || shown.IPNSName != attest.IPNSName(workerID) {
		t.Fatalf("show --json: exit %d %v\n%s", code, err, out)
	}
}

// show prints a file whose signatures fail, names the entry, and fails.
func TestAttest_ShowFailsOnABadSignature(t *testing.T) {
	workerKey, _ := keyFile(t, crypto.Ed25519)
	aKey, aID := keyFile(t, crypto.Ed25519)
	file := filepath.Join(t.TempDir(), "attributes.bin")
	if code, out, errOut := runB7s("attest", "--key", workerKey, "--attestor", aKey, "--out", file, "region=eu"); code != 0 {
		t.Fatalf("exit %d %s%s", code, out, errOut)
	}
	a := readAttestationFile(t, file)
	a.Attestors[0].Signature = a.Signature.Signature // the node's signature is no attestation
	data, err := attest.Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, data, 0o644)
	code, out, errOut := runB7s("attest", "show", file)
	if code != 1 || !strings.Contains(out, "signatures: FAIL") || !strings.Contains(errOut, "attestor 1 by "+aID.String()) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// Nor can more attestors be added to it.
	other, _ := keyFile(t, crypto.Ed25519)
	if code, _, errOut := runB7s("attest", "--in", file, "--attestor", other, "--out", file); code != 1 || !strings.Contains(errOut, "attestor 1 by "+aID.String()) {
		t.Fatalf("--in a bad file: exit %d %s", code, errOut)
	}
}

func TestAttest_UnsignedFileHoldsOnlyAttributes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "attributes.bin")
	code, out, errOut := runB7s("attest", "--out", file, "region=eu")
	if code != 0 || !strings.Contains(out, "unsigned, 0 attestor(s)") {
		t.Fatalf("exit %d %s%s", code, out, errOut)
	}
	if info, err := os.Stat(file); err != nil || info.Size() != attest.BlockSize {
		t.Fatalf("unsigned file: %v %v", info, err)
	}
}

func TestAttest_RefusesWithAReason(t *testing.T) {
	workerKey, _ := keyFile(t, crypto.Ed25519)
	aKey, aID := keyFile(t, crypto.Ed25519)
	dir := t.TempDir()
	signed := filepath.Join(dir, "signed.bin")
	if code, _, errOut := runB7s("attest", "--key", workerKey, "--attestor", aKey, "--out", signed, "region=eu"); code != 0 {
		t.Fatal(errOut)
	}
	out := filepath.Join(dir, "out.bin")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no attributes", []string{"--key", workerKey}, "give at least one NAME=VALUE attribute"},
		{"not a pair", []string{"region"}, `attribute "region" is not NAME=VALUE`},
		{"empty name", []string{"=eu"}, `attribute "=eu" is not NAME=VALUE`},
		{"a name twice", []string{"region=eu", "region=us"}, "attribute region is given twice"},
		{"separator in a value", []string{"region=e\x1fu"}, "a value cannot contain the 0x1F separator"},
		{"attestor without a node signature", []string{"--attestor", aKey, "region=eu"}, "no node signature to attest"},
		{"missing key file", []string{"--key", filepath.Join(dir, "nope"), "region=eu"}, "read key"},
		{"--in with pairs", []string{"--in", signed, "--attestor", aKey, "region=us"}, "--in takes no NAME=VALUE pairs"},
		{"--in without attestors", []string{"--in", signed}, "give at least one --attestor"},
		{"--in an attestor twice", []string{"--in", signed, "--attestor", aKey}, aID.String() + " has already attested"},
		{"--in a file that is not one", []string{"--in", workerKey, "--attestor", aKey}, "shorter than the 1024-byte attribute block"},
		{"too much for the block", []string{"a=" + randomText(4000)}, "attribute data too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, errOut := runB7s(append([]string{"attest", "--out", out}, c.args...)...)
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q, want %q (stdout %q)", code, errOut, c.want, stdout)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a file was written")
			}
		})
	}
	if code, _, errOut := runB7s("attest", "show"); code != 1 || !strings.Contains(errOut, "give one attestation file") {
		t.Fatalf("show without a file: %d %s", code, errOut)
	}
	if code, out, _ := runB7s("attest", "show", "--help"); code != 0 || !strings.Contains(out, "Usage: b7s attest show") {
		t.Fatalf("show --help: %d %s", code, out)
	}
}

// randomText is n bytes of text that deflate cannot shrink much (a fixed pseudo-random walk).
func randomText(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
	}
	return string(b)
}
