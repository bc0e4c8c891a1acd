package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/p2p"
)

// runAttest is `b7s attest`: make an attestation file in the original b7s-attributes format, add
// attestors to one, or print one (`b7s attest show FILE`).
func runAttest(args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "show" {
		return runAttestShow(args[1:], stdout)
	}
	fs := commandFlags("attest", "[--key NODE_KEY] [--attestor KEY]... [--out FILE] NAME=VALUE...\n"+
		"       b7s attest --in FILE --attestor KEY... [--out FILE]\n"+
		"       b7s attest show [--json] FILE",
		"Make a worker's attestation (attributes.bin, the original b7s-attributes format) from\n"+
			"NAME=VALUE pairs, in the order given. --key signs it as the worker (the worker's own\n"+
			"priv.bin: a worker refuses an attestation signed by another node); each --attestor key\n"+
			"then attests it. With --in, an existing file gets more attestors: that is how an\n"+
			"attestor who does not hold the worker's key signs. A worker loads the file with\n"+
			"--attributes-file. `b7s attest show FILE` prints a file and checks its signatures.", stdout)
	nodeKey := fs.String("key", "", "the worker's private key file (priv.bin), to sign the attributes as the node")
	// StringArray: a path may contain commas.
	attestors := fs.StringArray("attestor", nil, "an attestor's private key file (repeatable); needs --key or --in")
	in := fs.String("in", "", "an existing attestation to add attestors to, instead of NAME=VALUE pairs")
	out := fs.String("out", "attributes.bin", "file to write")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	a, err := attestationToWrite(*in, *nodeKey, fs.Args())
	if err != nil {
		return err
	}
	for _, path := range *attestors {
		key, err := p2p.LoadKey(path)
		if err != nil {
			return err
		}
		if err := attest.AddAttestor(&a, key); err != nil {
			return fmt.Errorf("%s: %w (give the worker's --key, or --in a file it signed)", path, err)
		}
	}
	if *in != "" && len(*attestors) == 0 {
		return errors.New("--in adds attestors: give at least one --attestor")
	}
	data, err := attest.Encode(a)
	if err != nil {
		return err
	}
	// Through a temporary file, so a worker reloading it never reads half a file.
	if err := writeFileAtomic(*out, string(data)); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote %s: %d attribute(s), %s, %d attestor(s)\n", *out, len(a.Attributes), signedBy(a), len(a.Attestors))
	return err
}

// attestationToWrite is the attestation before attestors are added: read from in (which must
// verify), or made from NAME=VALUE pairs and signed with the node key if one is given.
func attestationToWrite(in, nodeKey string, pairs []string) (attest.Attestation, error) {
	if in != "" {
		if len(pairs) > 0 || nodeKey != "" {
			return attest.Attestation{}, errors.New("--in takes no NAME=VALUE pairs and no --key: changing a signed attestation would break its signatures")
		}
		a, err := readAttestation(in)
		if err != nil {
			return a, err
		}
		if err := attest.Verify(a); err != nil {
			return a, fmt.Errorf("%s: %w", in, err)
		}
		return a, nil
	}
	attrs, err := parseAttributePairs(pairs)
	if err != nil {
		return attest.Attestation{}, err
	}
	a := attest.Attestation{Attributes: attrs}
	if nodeKey != "" {
		key, err := p2p.LoadKey(nodeKey)
		if err != nil {
			return a, err
		}
		if err := attest.Sign(&a, key); err != nil {
			return a, err
		}
	}
	return a, nil
}

// parseAttributePairs reads NAME=VALUE arguments. The format would keep a name given twice (the
// last one counts when matching); here that is a mistake, so it is refused.
func parseAttributePairs(pairs []string) ([]attest.Attribute, error) {
	if len(pairs) == 0 {
		return nil, errors.New("give at least one NAME=VALUE attribute")
	}
	seen := make(map[string]bool, len(pairs))
	attrs := make([]attest.Attribute, 0, len(pairs))
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("attribute %q is not NAME=VALUE", p)
		}
		if seen[name] {
			return nil, fmt.Errorf("attribute %s is given twice", name)
		}
		seen[name] = true
		attrs = append(attrs, attest.Attribute{Name: name, Value: value})
	}
	return attrs, nil
}

func readAttestation(path string) (attest.Attestation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return attest.Attestation{}, err
	}
	a, err := attest.Decode(data)
	if err != nil {
		return a, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func signedBy(a attest.Attestation) string {
	if a.Signature == nil {
		return "unsigned"
	}
	return "signed by " + a.Signature.Signer.String()
}

// shownAttestation is `b7s attest show --json`.
type shownAttestation struct {
	attest.Attestation
	// IPNSName is the signer's IPNS name, under which --load-attributes looks for the file.
	IPNSName string `json:"ipns_name,omitempty"`
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
}

// runAttestShow is `b7s attest show FILE`: print an attestation and check its signatures. A file
// whose signatures fail is printed, and the command then fails.
func runAttestShow(args []string, stdout io.Writer) error {
	fs := commandFlags("attest show", "[--json] FILE",
		"Print an attestation file (the original b7s-attributes format) and check its signatures\n"+
			"with the keys their signers' peer IDs embed. Exits non-zero when a signature fails.", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give one attestation file")
	}
	a, err := readAttestation(fs.Arg(0))
	if err != nil {
		return err
	}
	verr := attest.Verify(a)
	shown := shownAttestation{Attestation: a, Verified: verr == nil}
	if verr != nil {
		shown.Error = verr.Error()
	}
	if a.Signature != nil {
		shown.IPNSName = attest.IPNSName(a.Signature.Signer)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(shown)
	} else {
		err = printAttestation(stdout, shown)
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if verr != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), verr)
	}
	return nil
}

func printAttestation(w io.Writer, s shownAttestation) error {
	var b strings.Builder
	b.WriteString("attributes:\n")
	for _, a := range s.Attributes {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	if s.Signature == nil {
		b.WriteString("unsigned\n")
	} else {
		fmt.Fprintf(&b, "signed by %s (IPNS name %s)\n", s.Signature.Signer, s.IPNSName)
	}
	for _, a := range s.Attestors {
		fmt.Fprintf(&b, "attested by %s\n", a.Signer)
	}
	if s.Verified {
		b.WriteString("signatures: ok\n")
	} else {
		fmt.Fprintf(&b, "signatures: FAIL: %s\n", s.Error)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
