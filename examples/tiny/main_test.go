package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/b7s-actor/b7s/executor"
)

// The assembled module runs under the node's own executor and says what it was given.
func TestTiny_PrintsGreetingArgumentsAndStdin(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.wasm")
	if err := os.WriteFile(path, module(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := executor.DefaultConfig()
	cfg.Workspace = dir
	cfg.CompilationCacheDir = executor.DisableCompilationCache
	e, err := executor.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	hi, empty, big := "hi", "", strings.Repeat("x", 70_000)
	cases := []struct {
		name  string
		args  []string
		stdin *string
		want  string
	}{
		{"nothing", nil, nil, "Hello from b7s-actor!\n"},
		{"arguments", []string{"world", "and more"}, nil, "Hello from b7s-actor! world and more\n"},
		{"stdin", []string{"world"}, &hi, "Hello from b7s-actor! world stdin: hi\n"},
		{"empty stdin", nil, &empty, "Hello from b7s-actor!\n"},
		{"stdin past the buffer is cut", nil, &big, "Hello from b7s-actor! stdin: " + big[:65536] + "\n"},
	}
	for i, c := range cases {
		res, err := e.Execute(context.Background(), executor.Request{
			RequestID: "r" + string(rune('a'+i)), FunctionID: "tiny", ModulePath: path, Args: c.args, Stdin: c.stdin,
		})
		if err != nil || res.ExitCode != 0 || res.Stdout != c.want {
			t.Errorf("%s: exit %d, err %v, stdout %.80q, want %.80q", c.name, res.ExitCode, err, res.Stdout, c.want)
		}
	}
}
