package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

const (
	peerA = "/ip4/10.0.0.1/tcp/1/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh"
	peerB = "/ip4/10.0.0.2/tcp/2/p2p/12D3KooWKTKwW1y6iRoGeag1y2wpNYV9UM8QaYXaTL7DUTZdEFw6"
	peerC = "/ip4/10.0.0.3/tcp/3/p2p/12D3KooWH7TiTXb4UzKKU5zMkCDSMx5KAwP4waBbknxnoXfWL7Db"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad_PriorityIsDefaultsEnvFileFlags(t *testing.T) {
	// Each source sets the same settings to its own values.
	env := []string{
		"B7S_Connectivity_Port=1001",
		"B7S_HealthInterval=2s",
		"B7S_Log_Level=warn",
		"B7S_BootNodes=" + peerA,
		"B7S_Connectivity_Quic=false",
		"B7S_Head_RestApi=:8001",
	}
	file := `
connectivity:
  port: 1002
  quic: true
health-interval: 3s
log:
  level: error
boot-nodes: [` + peerB + `]
head:
  rest-api: ":8002"
`
	flags := []string{"--port", "1003", "--health-interval=4s", "-l", "debug", "--boot-nodes", peerC, "--quic=false", "--rest-api", ":8003"}

	type values struct {
		port    uint
		health  time.Duration
		level   string
		boot    []string
		quic    bool
		restAPI string
	}
	def := Default()
	fromDefault := values{def.Connectivity.Port, def.HealthInterval, def.Log.Level, def.BootNodes, def.Connectivity.QUIC, def.Head.RestAPI}
	fromEnv := values{1001, 2 * time.Second, "warn", []string{peerA}, false, ":8001"}
	fromFile := values{1002, 3 * time.Second, "error", []string{peerB}, true, ":8002"}
	fromFlags := values{1003, 4 * time.Second, "debug", []string{peerC}, false, ":8003"}

	tests := []struct {
		name            string
		env, file, flag bool
		want            values
	}{
		{"none: default", false, false, false, fromDefault},
		{"env only: env", true, false, false, fromEnv},
		{"file only: file", false, true, false, fromFile},
		{"flags only: flags", false, false, true, fromFlags},
		{"env and file: file wins", true, true, false, fromFile},
		{"env and flags: flags win", true, false, true, fromFlags},
		{"file and flags: flags win", false, true, true, fromFlags},
		{"all three: flags win", true, true, true, fromFlags},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args, environ []string
			if tt.env {
				environ = env
			}
			if tt.file {
				args = append(args, "--config", writeFile(t, "b7s.yaml", file))
			}
			if tt.flag {
				args = append(args, flags...)
			}
			c, err := Load(args, environ)
			if err != nil {
				t.Fatal(err)
			}
			got := values{c.Connectivity.Port, c.HealthInterval, c.Log.Level, c.BootNodes, c.Connectivity.QUIC, c.Head.RestAPI}
			if got.port != tt.want.port || got.health != tt.want.health || got.level != tt.want.level ||
				!slices.Equal(got.boot, tt.want.boot) || got.quic != tt.want.quic || got.restAPI != tt.want.restAPI {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoad_FileKeepsSettingsItDoesNotMention(t *testing.T) {
	path := writeFile(t, "b7s.yaml", "connectivity:\n  port: 9000\n")
	c, err := Load([]string{"--config", path}, []string{"B7S_Connectivity_Address=127.0.0.1", "B7S_Concurrency=3"})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Connectivity.Port = 9000
	want.Connectivity.Address = "127.0.0.1"
	want.Concurrency = 3
	assertConfig(t, c, want)
}

func TestLoad_ShortFlags(t *testing.T) {
	c, err := Load(strings.Fields("-r head -p 9000 -c 5 -l debug -a 127.0.0.1 -w"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Role = string(actors.RoleHead)
	want.Connectivity.Port = 9000
	want.Concurrency = 5
	want.Log.Level = "debug"
	want.Connectivity.Address = "127.0.0.1"
	want.Connectivity.Websocket = true
	assertConfig(t, c, want)
	if !c.IsHead() {
		t.Error("IsHead() = false for role head")
	}
}

func TestLoad_BootNodesFlagSplitsAndRepeats(t *testing.T) {
	c, err := Load([]string{"--boot-nodes", peerA + "," + peerB, "--boot-nodes", peerC}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{peerA, peerB, peerC}; !slices.Equal(c.BootNodes, want) {
		t.Errorf("BootNodes = %q, want %q", c.BootNodes, want)
	}
}

func TestLoad_Errors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     []string
		file    string // written and passed with --config when not empty
		wantErr string
	}{
		{name: "invalid role flag", args: []string{"-r", "boss"}, wantErr: `role: "boss" is not one of head, worker`},
		{name: "invalid role env", env: []string{"B7S_Role=boss"}, wantErr: `role: "boss" is not one of head, worker`},
		{name: "invalid log level", args: []string{"-l", "loud"}, wantErr: `log.level: "loud" is not one of trace, debug, info, warn, error, fatal, panic, disabled`},
		{name: "empty log level", file: "log:\n  level: \"\"\n", wantErr: `log.level: "" is not one of`},
		{name: "invalid duration flag", args: []string{"--health-interval", "soon"}, wantErr: `health-interval`},
		{name: "invalid duration env", env: []string{"B7S_Head_RollcallTimeout=5"}, wantErr: `B7S_Head_RollcallTimeout (head.rollcall-timeout): "5" is not a duration`},
		{name: "duration without unit in file", file: "health-interval: 5\n", wantErr: "time.Duration"},
		{name: "invalid duration in file", file: "worker:\n  max-run-time: forever\n", wantErr: "forever"},
		{name: "unknown flag", args: []string{"--no-such-flag"}, wantErr: "no-such-flag"},
		{name: "stray argument", args: []string{"worker"}, wantErr: `unexpected argument "worker"`},
		{name: "unknown key in file", file: "connectivity:\n  disablle-connection-limits: true\n", wantErr: "disablle-connection-limits"},
		{name: "old file format", file: "node:\n  ip: 0.0.0.0\n", wantErr: "field node not found"},
		{name: "negative port in file", file: "connectivity:\n  port: -1\n", wantErr: "-1"},
		{name: "validation after merge", env: []string{"B7S_Connectivity_Port=70000"}, wantErr: "connectivity.port: 70000 is above the maximum 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, "b7s.yaml", tt.file)}, args...)
			}
			_, err := Load(args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoad_MissingConfigFileIsAnError(t *testing.T) {
	_, err := Load([]string{"--config", filepath.Join(t.TempDir(), "missing.yaml")}, nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load error = %v, want os.ErrNotExist", err)
	}
}

func TestLoad_EmptyConfigFileMeansDefaults(t *testing.T) {
	c, err := Load([]string{"--config", writeFile(t, "empty.yaml", "# nothing\n")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertConfig(t, c, Default())
}

func TestLoad_HelpReturnsErrHelp(t *testing.T) {
	if _, err := Load([]string{"--help"}, nil); !errors.Is(err, pflag.ErrHelp) {
		t.Errorf("Load error = %v, want pflag.ErrHelp", err)
	}
}

// A caller may parse the flag set itself (for example after adding it to a
// cobra command) and then merge with Flags.Load.
func TestFlags_LoadAfterCallerParsed(t *testing.T) {
	fs, f := NewFlagSet("run")
	if err := fs.Parse([]string{"--concurrency", "4"}); err != nil {
		t.Fatal(err)
	}
	c, err := f.Load([]string{"B7S_Concurrency=2", "B7S_Connectivity_Port=7000"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Concurrency != 4 || c.Connectivity.Port != 7000 {
		t.Errorf("concurrency %d, port %d; want 4, 7000", c.Concurrency, c.Connectivity.Port)
	}
}

// uncommentedValue matches an example line that holds a value: "# " at column
// zero followed by a YAML key or list item. Documentation lines start with a
// capital letter or are indented comments.
var uncommentedValue = regexp.MustCompile(`^# (\s*(?:[a-z][a-z0-9-]*:(?:\s.*)?|- .*))$`)

func uncommentExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.SplitSeq(string(data), "\n") {
		if m := uncommentedValue.FindStringSubmatch(line); m != nil {
			line = m[1]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestExample_AllCommentedOutLoadsAsDefaults(t *testing.T) {
	c, err := Load([]string{"--config", "example.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertConfig(t, c, Default())
}

func TestExample_UncommentedLoadsAndDocumentsEveryKey(t *testing.T) {
	text := uncommentExample(t)
	c, err := Load([]string{"--config", writeFile(t, "example.yaml", text)}, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if c.Role != string(actors.RoleHead) || c.Connectivity.Port != 9000 || c.Head.RestAPI != "localhost:8888" ||
		c.Telemetry.Tracing.ExporterBatchTimeout != 5*time.Second || len(c.BootNodes) != 2 {
		t.Errorf("example values not loaded: %+v", c)
	}

	var tree yaml.Node
	if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	collectKeys(tree.Content[0], "", documented)
	for _, s := range settings {
		if !documented[s.key] {
			t.Errorf("example.yaml does not document %s", s.key)
		}
	}
}

// collectKeys records the path of every leaf (non-mapping value) under n.
func collectKeys(n *yaml.Node, prefix string, out map[string]bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := prefix+n.Content[i].Value, n.Content[i+1]
		if value.Kind == yaml.MappingNode {
			collectKeys(value, key+".", out)
			continue
		}
		out[key] = true
	}
}
