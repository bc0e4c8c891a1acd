package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/config"
)

// The example configurations load as they are, through the loader `b7s run --config` uses,
// and say what the units and the image expect of them.
func TestConfigs_LoadAsTheyAre(t *testing.T) {
	for _, tt := range []struct {
		file, role string
	}{
		{"config/head.yaml", "head"},
		{"config/worker.yaml", "worker"},
	} {
		c, err := config.Load([]string{"--config", tt.file}, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if c.Role != tt.role || c.DebugAddress != "127.0.0.1:6060" || c.DrainTimeout != 25*time.Second ||
			c.Log.Format != config.LogFormatAuto || !strings.HasPrefix(c.DB, "/var/lib/b7s/") ||
			c.Connectivity.PrivateKey != "/var/lib/b7s/keys/priv.bin" {
			t.Errorf("%s: %+v", tt.file, c)
		}
		if tt.role == "head" && c.Head.RestAPI == "" {
			t.Errorf("%s: a head without a REST API", tt.file)
		}
	}
}

// unitFiles are the systemd units of this directory.
func unitFiles(t *testing.T) []string {
	t.Helper()
	units, err := filepath.Glob("systemd/*.service")
	if err != nil || len(units) != 2 {
		t.Fatalf("units %v: %v", units, err)
	}
	return units
}

// Every unit passes systemd-analyze verify without a word: unknown keys and bad values are
// warnings there, and a warning fails this test. The binary the units name does not exist
// here, so each is checked in a copy that names one that does.
func TestUnits_SystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	for _, unit := range unitFiles(t) {
		data, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		copied := filepath.Join(dir, filepath.Base(unit))
		text := strings.ReplaceAll(string(data), "/usr/local/bin/b7s", "/bin/true")
		if err := os.WriteFile(copied, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", "--man=no", copied).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
}

// What the issue asks of the units, key by key, in case systemd accepts a unit without it.
func TestUnits_AreNotifyHardenedAndUseTheExampleConfigs(t *testing.T) {
	for _, unit := range unitFiles(t) {
		keys := unitKeys(t, unit)
		role := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(unit), "b7s-"), ".service")
		for key, want := range map[string]string{
			"Type": "notify", "NotifyAccess": "main", "Restart": "on-failure", "User": "b7s",
			"StateDirectory": "b7s", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
			"ExecStart":  "/usr/local/bin/b7s run --config /etc/b7s/" + role + ".yaml",
			"KillSignal": "SIGTERM",
		} {
			if got := keys[key]; got != want {
				t.Errorf("%s: %s=%q, want %q", unit, key, got, want)
			}
		}
		c, err := config.Load([]string{"--config", "config/" + role + ".yaml"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		stop, err := time.ParseDuration(keys["TimeoutStopSec"])
		if err != nil || stop <= c.DrainTimeout+5*time.Second {
			t.Errorf("%s: TimeoutStopSec %q must leave the drain (%v) and the stop time", unit, keys["TimeoutStopSec"], c.DrainTimeout)
		}
		if !strings.Contains(keys["ExecStartPre"], "keygen --out "+filepath.Dir(c.Connectivity.PrivateKey)) {
			t.Errorf("%s: ExecStartPre %q does not make the key %s", unit, keys["ExecStartPre"], c.Connectivity.PrivateKey)
		}
	}
}

// unitKeys reads key=value lines of a unit file (the last value of a key wins).
func unitKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			keys[k] = v
		}
	}
	return keys
}

// Docker cannot build here, so the recipe is checked for what it must be: multi-stage, a static
// binary, a non-root user, a volume for the state, a health check on /livez, the example
// configurations, and a default that runs a head.
func TestDockerfile_Recipe(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for what, pattern := range map[string]string{
		"a build stage":                  `(?m)^FROM golang:\S+ AS build$`,
		"a run stage from the build":     `(?m)^COPY --from=build /out/b7s /usr/local/bin/b7s$`,
		"a static binary":                `CGO_ENABLED=0 go build`,
		"a non-root user":                `(?m)^USER 65532:65532$`,
		"a volume for the state":         `(?m)^VOLUME \["/var/lib/b7s"\]$`,
		"a health check on /livez":       `(?m)^  CMD \["/usr/local/bin/b7s", "probe", "--api", "127.0.0.1:6060"\]$`,
		"the example configurations":     `(?m)^COPY deploy/config/head.yaml deploy/config/worker.yaml /etc/b7s/$`,
		"a head by default":              `(?m)^CMD \["run", "--config", "/etc/b7s/head.yaml"\]$`,
		"the binary as the entry point":  `(?m)^ENTRYPOINT \["/usr/local/bin/b7s"\]$`,
		"a state directory it may write": `--chown=65532:65532 --chmod=0700 /out/state /var/lib/b7s`,
	} {
		if !regexp.MustCompile(pattern).MatchString(text) {
			t.Errorf("Dockerfile: no %s (%s)", what, pattern)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(text, -1)); n != 2 {
		t.Errorf("Dockerfile: %d stages, want 2", n)
	}
	// The probe's address is the configurations' debug address: the health check asks a port
	// the node listens on.
	for _, file := range []string{"config/head.yaml", "config/worker.yaml"} {
		c, err := config.Load([]string{"--config", file}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.DebugAddress != "127.0.0.1:6060" || !strings.HasPrefix(c.DB, "/var/lib/b7s/") || !strings.HasPrefix(c.Workspace, "/var/lib/b7s/") {
			t.Errorf("%s: debug %s, db %s, workspace %s; the image probes 127.0.0.1:6060 and keeps /var/lib/b7s", file, c.DebugAddress, c.DB, c.Workspace)
		}
	}
}
