package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
)

func TestEnvKey_ConvertsNamesToYAMLKeys(t *testing.T) {
	tests := []struct {
		name   string
		want   string // "" when the name stands for no setting
		reason string
	}{
		{"B7S_Connectivity_DialbackAddress", "connectivity.dialback-address", "spec §10 example"},
		{"B7S_Telemetry_Tracing_GRPC_Endpoint", "telemetry.tracing.grpc.endpoint", "spec §10 example, all-caps segment"},
		{"B7S_Telemetry_Tracing_Enable", "telemetry.tracing.enable", "the order the loader expects"},
		{"B7S_Tracing_Telemetry_Enable", "", "Q25: reversed parents as the original's docs generate them"},
		{"B7S_Telemetry_Metrics_PrometheusAddress", "telemetry.metrics.prometheus-address", "three segments"},
		{"B7S_Telemetry_Metrics_PrometeusAddress", "", "README misspelling (Q25)"},
		{"B7S_Head_RestApi", "head.rest-api", "CamelCase acronym"},
		{"B7S_Head_RestAPI", "head.rest-api", "trailing acronym"},
		{"B7S_Head_RESTAPI", "head.rest-api", "all-caps acronyms run together"},
		{"B7S_Head_Rest-Api", "head.rest-api", "dash kept"},
		{"B7S_HealthInterval", "health-interval", "top level, two words"},
		{"B7S_Role", "role", "top level"},
		{"B7S_Concurrency", "concurrency", "top level"},
		{"B7S_BootNodes", "boot-nodes", "list"},
		{"B7S_Topics", "topics", "list"},
		{"B7S_DB", "db", "acronym key"},
		{"B7S_Db", "db", "acronym key, CamelCase"},
		{"B7S_LOG_LEVEL", "log.level", "all caps"},
		{"B7S_Log_Format", "log.format", "ours"},
		{"B7S_Worker_CpuPercentageLimit", "worker.cpu-percentage-limit", "original docs spelling"},
		{"B7S_Worker_CPUPercentageLimit", "worker.cpu-percentage-limit", "leading acronym"},
		{"B7S_Worker_MemoryLimit", "worker.memory-limit", "memory-limit, not memory-limit-pages"},
		{"B7S_Worker_MemoryLimitPages", "worker.memory-limit-pages", "ours"},
		{"B7S_Head_RollcallTimeout", "head.rollcall-timeout", "ours"},
		{"B7S_Head_RollCallTimeout", "head.rollcall-timeout", "roll-call written as two words"},
		{"B7S_Fstore_Gateway", "fstore.gateway", "ours"},
		{"B7S_FStore_SyncInterval", "fstore.sync-interval", "ours, acronym prefix"},
		{"B7S_Connectivity_QUIC", "connectivity.quic", "ours"},
		{"B7S_Connectivity_WebsocketDialbackPort", "connectivity.websocket-dialback-port", "long key"},
		{"B7S_Port", "", "flag name, not a YAML path"},
		{"B7S_Log", "", "a section, not a setting"},
		{"B7S_Log_Level_Extra", "", "too many segments"},
		{"B7S_Log__Level", "", "empty segment"},
		{"B7S_", "", "prefix only"},
		{"b7s_Role", "", "prefix is case-sensitive"},
		{"PATH", "", "not ours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := EnvKey(tt.name)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("EnvKey(%q) = %q, %v; want %q (%s)", tt.name, got, ok, tt.want, tt.reason)
			}
		})
	}
}

func TestApplyEnv_ParsesEveryFieldType(t *testing.T) {
	c := Default()
	err := applyEnv(&c, []string{
		"B7S_Role=head",
		"B7S_Concurrency=7",
		"B7S_BootNodes= /ip4/1.2.3.4/tcp/1/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh ,,/dns4/x/tcp/2/p2p/12D3KooWKTKwW1y6iRoGeag1y2wpNYV9UM8QaYXaTL7DUTZdEFw6",
		"B7S_Topics=a,b",
		"B7S_LoadAttributes=true",
		"B7S_HealthInterval=250ms",
		"B7S_Worker_CpuPercentageLimit=0.5",
		"B7S_Worker_MemoryLimit=2048",
		"B7S_Worker_MemoryLimitPages=16",
		"B7S_Head_ResultCacheSize=9",
		"B7S_Connectivity_Port=", // empty counts as unset
		"B7S_Unknown_Thing=whatever",
		"NOT_OURS=1",
		"malformed",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Role = string(actors.RoleHead)
	want.Concurrency = 7
	want.BootNodes = []string{
		"/ip4/1.2.3.4/tcp/1/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh",
		"/dns4/x/tcp/2/p2p/12D3KooWKTKwW1y6iRoGeag1y2wpNYV9UM8QaYXaTL7DUTZdEFw6",
	}
	want.Topics = []string{"a", "b"}
	want.LoadAttributes = true
	want.HealthInterval = 250 * time.Millisecond
	want.Worker.CPUPercentageLimit = 0.5
	want.Worker.MemoryLimitKB = 2048
	want.Worker.MemoryLimitPages = 16
	want.Head.ResultCacheSize = 9
	assertConfig(t, c, want)
}

func TestApplyEnv_ReportsEveryMalformedValue(t *testing.T) {
	c := Default()
	err := applyEnv(&c, []string{
		"B7S_Connectivity_Port=abc",
		"B7S_HealthInterval=5",
		"B7S_Connectivity_Quic=maybe",
		"B7S_Worker_MemoryLimitPages=-1",
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		`B7S_Connectivity_Port (connectivity.port): "abc" is not an unsigned integer`,
		`B7S_HealthInterval (health-interval): "5" is not a duration`,
		`B7S_Connectivity_Quic (connectivity.quic): "maybe" is not a boolean`,
		`B7S_Worker_MemoryLimitPages (worker.memory-limit-pages)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := map[string][]string{
		"":          nil,
		"a":         {"a"},
		"a,b":       {"a", "b"},
		" a , ,b, ": {"a", "b"},
	}
	for in, want := range tests {
		if got := splitList(in); !slices.Equal(got, want) {
			t.Errorf("splitList(%q) = %q, want %q", in, got, want)
		}
	}
}
