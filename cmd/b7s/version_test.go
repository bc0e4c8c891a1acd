package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestVersion_NamesTheBuildAndTheWire(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"b7s " + version, runtime.Version(), "/b7s/work/1.0.0", "/b7s-actor/trace/1.0.0", "blockless/b7s/general", "commit "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"version", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut.String())
	}
	var v versionInfo
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatalf("--json: %v: %s", err, out.String())
	}
	if v.Version != version || v.Go != runtime.Version() || v.Commit == "" || !slices.Contains(v.Protocols, "/b7s/work/1.0.0") {
		t.Errorf("--json: %+v", v)
	}
}
