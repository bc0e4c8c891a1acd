package config

import (
	"strings"
	"testing"
)

func TestEnvName_IsReadBackAsItsKey(t *testing.T) {
	for _, s := range settings {
		name := envNameFor(s.key)
		if key, ok := EnvKey(name); !ok || key != s.key {
			t.Errorf("envNameFor(%q) = %q, which reads back as %q, %v", s.key, name, key, ok)
		}
	}
	if got := envNameFor("connectivity.dialback-address"); got != "B7S_Connectivity_DialbackAddress" {
		t.Errorf("envNameFor(connectivity.dialback-address) = %q", got)
	}
}

func TestUsage_NamesEverySettingWithDefaultAndEnv(t *testing.T) {
	var b strings.Builder
	if err := Usage(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, s := range settings {
		want := "env " + envNameFor(s.key)
		if s.flag != "" {
			want = "--" + s.flag
		}
		if !strings.Contains(out, want) || !strings.Contains(out, s.key) {
			t.Errorf("usage lacks %s (%q)", s.key, want)
		}
	}
	for _, want := range []string{
		"--config string",
		"-c, --concurrency uint\n      maximum number of executions a worker runs at once\n      default 10; env B7S_Concurrency; yaml concurrency\n",
		"--rest-api string\n      host:port of the head's REST API (empty: no REST API)\n      default \"\"; env B7S_Head_RestApi; yaml head.rest-api\n",
		"--boot-nodes strings",
		"default []; env B7S_BootNodes",
		"default 1m0s; env B7S_HealthInterval",
		"telemetry.tracing.exporter-batch-timeout\n",
		"env B7S_Telemetry_Tracing_ExporterBatchTimeout\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}
