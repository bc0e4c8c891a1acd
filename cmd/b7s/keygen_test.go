package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeygen_WritesTheFiveFilesAndRefusesStrayArguments(t *testing.T) {
	for _, flag := range []string{"--out", "--output", "-o"} {
		dir := filepath.Join(t.TempDir(), "keys")
		var out, errOut bytes.Buffer
		if code := run([]string{"keygen", flag, dir}, &out, &errOut); code != 0 {
			t.Fatalf("keygen %s: exit %d: %s", flag, code, errOut.String())
		}
		for _, f := range []string{"priv.bin", "pub.bin", "pubkey.txt", "identity", "peerid.txt"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("keygen %s: %s missing: %v", flag, f, err)
			}
		}
		id, _ := os.ReadFile(filepath.Join(dir, "identity"))
		if !strings.Contains(out.String(), string(id)) {
			t.Errorf("keygen printed %q, want the peer ID %s", out.String(), id)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"keygen", "somewhere"}, &out, &errOut); code == 0 || !strings.Contains(errOut.String(), "unexpected argument") {
		t.Fatalf("keygen with a stray argument: exit %d, %q", code, errOut.String())
	}
}
