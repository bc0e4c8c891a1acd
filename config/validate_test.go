package config

import (
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
)

func TestDefault_IsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidate_ErrorNamesSettingAndBound(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // the whole single error
	}{
		{"role", func(c *Config) { c.Role = "boss" }, `role: "boss" is not one of head, worker`},
		{"role empty", func(c *Config) { c.Role = "" }, `role: "" is not one of head, worker`},
		{"concurrency zero", func(c *Config) { c.Concurrency = 0 }, "concurrency: 0 is below the minimum 1"},
		{"concurrency high", func(c *Config) { c.Concurrency = 1025 }, "concurrency: 1025 is above the maximum 1024"},
		{"boot node without p2p", func(c *Config) { c.BootNodes = []string{peerA, "/ip4/1.2.3.4/tcp/1"} },
			`boot-nodes[1]: "/ip4/1.2.3.4/tcp/1" has no /p2p/<peerID> component`},
		{"empty topic", func(c *Config) { c.Topics = []string{"a", " "} }, "topics[1]: topic is empty"},
		{"health interval", func(c *Config) { c.HealthInterval = 50 * time.Millisecond }, "health-interval: 50ms is below the minimum 100ms"},
		{"health interval negative", func(c *Config) { c.HealthInterval = -time.Second }, "health-interval: -1s is below the minimum 100ms"},
		{"two attestation sources", func(c *Config) { c.AttributesFile, c.LoadAttributes = "a.bin", true },
			"attributes-file: set together with load-attributes; an attestation has one source"},
		{"attributes gateway without {name}", func(c *Config) { c.AttributesGateway = "https://gw.example/attributes.bin" },
			`attributes-gateway: "https://gw.example/attributes.bin" does not contain {name}`},
		{"attributes gateway not http", func(c *Config) { c.AttributesGateway = "ipns://{name}/attributes.bin" },
			`attributes-gateway: "ipns://{name}/attributes.bin" is not an http(s) URL template`},
		{"attributes timeout", func(c *Config) { c.AttributesTimeout = 10 * time.Millisecond }, "attributes-timeout: 10ms is below the minimum 100ms"},
		{"recent messages negative", func(c *Config) { c.RecentMessages = -1 }, "recent-messages: -1 is below the minimum 0"},
		{"recent messages too many", func(c *Config) { c.RecentMessages = 5000 }, "recent-messages: 5000 is above the maximum 4096"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" },
			`log.level: "verbose" is not one of trace, debug, info, warn, error, fatal, panic, disabled`},
		{"log level numeric", func(c *Config) { c.Log.Level = "1" },
			`log.level: "1" is not one of trace, debug, info, warn, error, fatal, panic, disabled`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: "xml" is not one of auto, console, json`},
		{"drain timeout negative", func(c *Config) { c.DrainTimeout = -time.Second }, "drain-timeout: -1s is below the minimum 0s"},
		{"drain timeout high", func(c *Config) { c.DrainTimeout = 2 * time.Hour }, "drain-timeout: 2h0m0s is above the maximum 1h0m0s"},
		{"debug address", func(c *Config) { c.DebugAddress = "6060" }, `debug-address: "6060" is not host:port`},
		{"debug address is the rest api", func(c *Config) {
			c.Role, c.Head.RestAPI, c.DebugAddress = string(actors.RoleHead), "127.0.0.1:8080", "127.0.0.1:8080"
		}, "debug-address: 127.0.0.1:8080 is also head.rest-api; the debug address must be one of its own"},
		{"address", func(c *Config) { c.Connectivity.Address = "localhost" }, `connectivity.address: "localhost" is not an IP address`},
		{"port", func(c *Config) { c.Connectivity.Port = 70000 }, "connectivity.port: 70000 is above the maximum 65535"},
		{"websocket port", func(c *Config) { c.Connectivity.WebsocketPort = 65536 }, "connectivity.websocket-port: 65536 is above the maximum 65535"},
		{"websocket port equals port", func(c *Config) { c.Connectivity.Port, c.Connectivity.WebsocketPort = 9000, 9000 },
			"connectivity.websocket-port: 9000 must differ from connectivity.port"},
		{"dialback port", func(c *Config) { c.Connectivity.DialbackAddress, c.Connectivity.DialbackPort = "1.2.3.4", 65536 },
			"connectivity.dialback-port: 65536 is above the maximum 65535"},
		{"websocket dialback port", func(c *Config) {
			c.Connectivity.DialbackAddress, c.Connectivity.DialbackPort, c.Connectivity.WebsocketDialbackPort = "1.2.3.4", 1, 70000
		}, "connectivity.websocket-dialback-port: 70000 is above the maximum 65535"},
		{"dialback ports equal", func(c *Config) {
			c.Connectivity.DialbackAddress, c.Connectivity.DialbackPort, c.Connectivity.WebsocketDialbackPort = "1.2.3.4", 9000, 9000
		}, "connectivity.websocket-dialback-port: 9000 must differ from connectivity.dialback-port"},
		{"dialback address without port", func(c *Config) { c.Connectivity.DialbackAddress = "1.2.3.4" },
			"connectivity.dialback-port: required when connectivity.dialback-address is set"},
		{"dialback address not a host", func(c *Config) { c.Connectivity.DialbackAddress, c.Connectivity.DialbackPort = "00!", 1 },
			`connectivity.dialback-address: "00!" is neither an IP address nor a DNS name`},
		{"dialback port without address", func(c *Config) { c.Connectivity.DialbackPort = 9000 },
			"connectivity.dialback-address: required when connectivity.dialback-port is set"},
		{"websocket dialback port without address", func(c *Config) { c.Connectivity.WebsocketDialbackPort = 9010 },
			"connectivity.dialback-address: required when connectivity.websocket-dialback-port is set"},
		{"rest api", func(c *Config) { c.Head.RestAPI = "8080" }, `head.rest-api: "8080" is not host:port`},
		{"rest api port", func(c *Config) { c.Head.RestAPI = "localhost:http" }, `head.rest-api: "localhost:http": port "http" is not a number from 0 to 65535`},
		{"rollcall timeout", func(c *Config) { c.Head.RollCallTimeout = 0 }, "head.rollcall-timeout: 0s is below the minimum 100ms"},
		{"execution timeout", func(c *Config) { c.Head.ExecutionTimeout, c.Head.SettleWindow = 10*time.Millisecond, time.Millisecond },
			"head.execution-timeout: 10ms is below the minimum 100ms"},
		{"settle window", func(c *Config) { c.Head.SettleWindow = 0 }, "head.settle-window: 0s is below the minimum 1ms"},
		{"settle window above execution timeout", func(c *Config) { c.Head.SettleWindow = time.Minute },
			"head.settle-window: 1m0s is above the maximum head.execution-timeout (20s)"},
		{"result cache zero", func(c *Config) { c.Head.ResultCacheSize = 0 }, "head.result-cache-size: 0 is below the minimum 1"},
		{"result cache high", func(c *Config) { c.Head.ResultCacheSize = 1_000_001 }, "head.result-cache-size: 1000001 is above the maximum 1000000"},
		{"request timeout bound", func(c *Config) { c.Head.MaxRequestTimeout = 500 * time.Millisecond }, "head.max-request-timeout: 500ms is below the minimum 1s"},
		{"cpu limit", func(c *Config) { c.Worker.CPUPercentageLimit = 1.5 }, "worker.cpu-percentage-limit: 1.5 is above the maximum 1"},
		{"cpu limit negative", func(c *Config) { c.Worker.CPUPercentageLimit = -0.1 }, "worker.cpu-percentage-limit: -0.1 is below the minimum 0"},
		{"memory limit", func(c *Config) { c.Worker.MemoryLimitKB = -1 }, "worker.memory-limit: -1 is below the minimum 0"},
		{"queue size", func(c *Config) { c.Worker.QueueSize = -1 }, "worker.queue-size: -1 is below the minimum 0"},
		{"queue size high", func(c *Config) { c.Worker.QueueSize = 1_000_001 }, "worker.queue-size: 1000001 is above the maximum 1000000"},
		{"max output bytes", func(c *Config) { c.Worker.MaxOutputBytes = 0 }, "worker.max-output-bytes: 0 is below the minimum 1"},
		{"max output bytes high", func(c *Config) { c.Worker.MaxOutputBytes = 4<<20 + 1 }, "worker.max-output-bytes: 4194305 is above the maximum 4194304"},
		{"memory pages zero", func(c *Config) { c.Worker.MemoryLimitPages = 0 }, "worker.memory-limit-pages: 0 is below the minimum 1"},
		{"memory pages high", func(c *Config) { c.Worker.MemoryLimitPages = 65537 }, "worker.memory-limit-pages: 65537 is above the maximum 65536"},
		{"max run time", func(c *Config) { c.Worker.MaxRunTime = time.Millisecond }, "worker.max-run-time: 1ms is below the minimum 100ms"},
		{"memory limit high", func(c *Config) { c.Worker.MemoryLimitKB = MaxMemoryLimitKB + 1 },
			"worker.memory-limit: 9223372036854776 is above the maximum 9223372036854775"},
		{"memory limit below one execution", func(c *Config) { c.Worker.MemoryLimitKB = 1000 },
			"worker.memory-limit: 1000 kB is below one execution's memory (worker.memory-limit-pages: 268435456 bytes)"},
		{"max fs bytes", func(c *Config) { c.Worker.MaxFSBytes = -1 }, "worker.max-fs-bytes: -1 is below the minimum 0"},
		{"fs budget", func(c *Config) { c.Worker.FSBudgetBytes = -1 }, "worker.fs-budget-bytes: -1 is below the minimum 0"},
		{"fs budget below one execution", func(c *Config) { c.Worker.FSBudgetBytes = 1 << 20 },
			"worker.fs-budget-bytes: 1048576 is below one execution's worker.max-fs-bytes (67108864)"},
		{"gateway without cid", func(c *Config) { c.FStore.Gateway = "https://w3s.link/manifest.json" },
			`fstore.gateway: "https://w3s.link/manifest.json" does not contain {cid}`},
		{"gateway not http", func(c *Config) { c.FStore.Gateway = "{cid}.ipfs.w3s.link" },
			`fstore.gateway: "{cid}.ipfs.w3s.link" is not an http(s) URL template`},
		{"sync interval", func(c *Config) { c.FStore.SyncInterval = 500 * time.Millisecond }, "fstore.sync-interval: 500ms is below the minimum 1s"},
		{"exporter batch timeout", func(c *Config) { c.Telemetry.Tracing.ExporterBatchTimeout = -time.Second },
			"telemetry.tracing.exporter-batch-timeout: -1s is below the minimum 0s"},
		{"grpc endpoint", func(c *Config) { c.Telemetry.Tracing.GRPC.Endpoint = "collector" },
			`telemetry.tracing.grpc.endpoint: "collector" is not host:port`},
		{"http endpoint", func(c *Config) { c.Telemetry.Tracing.HTTP.Endpoint = "http://collector:4318" },
			`telemetry.tracing.http.endpoint: "http://collector:4318" is not host:port`},
		{"prometheus address", func(c *Config) { c.Telemetry.Metrics.PrometheusAddress = "9100" },
			`telemetry.metrics.prometheus-address: "9100" is not host:port`},
		{"metrics without address on a worker", func(c *Config) { c.Telemetry.Metrics.Enable = true },
			"telemetry.metrics.prometheus-address: required when telemetry.metrics.enable is set and no head.rest-api serves /metrics"},
		{"metrics without address on a head without rest api", func(c *Config) { c.Role, c.Telemetry.Metrics.Enable = string(actors.RoleHead), true },
			"telemetry.metrics.prometheus-address: required when telemetry.metrics.enable is set and no head.rest-api serves /metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			if got := err.Error(); !strings.HasPrefix(got, tt.want) || strings.Contains(got, "\n") {
				t.Errorf("Validate() = %q, want exactly one error starting %q", got, tt.want)
			}
		})
	}
}

func TestValidate_AcceptsEdgeValues(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"head without rest api", func(c *Config) { c.Role = string(actors.RoleHead) }},
		{"metrics on a head's rest api", func(c *Config) {
			c.Role, c.Head.RestAPI, c.Telemetry.Metrics.Enable = string(actors.RoleHead), ":8080", true
		}},
		{"metrics on their own address", func(c *Config) {
			c.Telemetry.Metrics.Enable, c.Telemetry.Metrics.PrometheusAddress = true, "0.0.0.0:9100"
		}},
		{"ports at the maximum", func(c *Config) {
			c.Connectivity.Port, c.Connectivity.WebsocketPort = 65535, 65534
			c.Connectivity.DialbackAddress, c.Connectivity.DialbackPort, c.Connectivity.WebsocketDialbackPort = "1.2.3.4", 65535, 65534
		}},
		{"websocket port zero with port set", func(c *Config) { c.Connectivity.Port = 9000 }},
		{"ipv6 address", func(c *Config) { c.Connectivity.Address = "::" }},
		{"upper-case log level", func(c *Config) { c.Log.Level = "DEBUG" }},
		{"disabled log level", func(c *Config) { c.Log.Level = "disabled" }},
		{"json logs", func(c *Config) { c.Log.Format = LogFormatJSON }},
		{"console logs", func(c *Config) { c.Log.Format = LogFormatConsole }},
		{"drain at once", func(c *Config) { c.DrainTimeout = 0 }},
		{"drain an hour", func(c *Config) { c.DrainTimeout = MaxDrainTimeout }},
		{"debug address on loopback", func(c *Config) { c.DebugAddress = "127.0.0.1:6060" }},
		{"random ports everywhere", func(c *Config) {
			c.Role, c.Head.RestAPI, c.DebugAddress = string(actors.RoleHead), "127.0.0.1:0", "127.0.0.1:0"
		}},
		{"concurrency bounds", func(c *Config) { c.Concurrency = 1024 }},
		{"minimum durations", func(c *Config) {
			c.HealthInterval, c.Head.RollCallTimeout, c.Head.ExecutionTimeout = MinHealthInterval, MinRollCallTimeout, MinExecutionTimeout
			c.Head.SettleWindow, c.Worker.MaxRunTime, c.FStore.SyncInterval = MinExecutionTimeout, MinMaxRunTime, MinSyncInterval
		}},
		{"queue size zero", func(c *Config) { c.Worker.QueueSize = 0 }},
		{"memory pages maximum", func(c *Config) { c.Worker.MemoryLimitPages = MaxMemoryLimitPages }},
		{"cpu limit one", func(c *Config) { c.Worker.CPUPercentageLimit = 1 }},
		{"runtime keys accepted, not required", func(c *Config) { c.Worker.RuntimePath, c.Worker.RuntimeCLI = "/app/runtime", "bls-runtime" }},
		{"tracing endpoints", func(c *Config) {
			c.Telemetry.Tracing.Enable = true
			c.Telemetry.Tracing.GRPC.Endpoint, c.Telemetry.Tracing.HTTP.Endpoint = "localhost:4317", "localhost:4318"
		}},
		{"rest api with empty host", func(c *Config) { c.Role, c.Head.RestAPI = string(actors.RoleHead), ":8080" }},
		{"http gateway", func(c *Config) { c.FStore.Gateway = "http://127.0.0.1:8080/ipfs/{cid}/manifest.json" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

func TestValidate_ReportsAllProblems(t *testing.T) {
	c := Default()
	c.Role = "boss"
	c.Connectivity.Port = 70000
	c.Worker.MemoryLimitPages = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"role:", "connectivity.port:", "worker.memory-limit-pages:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}

func TestValidate_BootNodes(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr string // "" for valid
	}{
		{"/ip4/147.75.84.103/tcp/31282/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh", ""},
		{"/ip6/::1/tcp/1/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh", ""},
		{"/dns4/boot.example.com/tcp/443/wss/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh", ""},
		{"/ip4/1.2.3.4/udp/1/quic-v1/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh", ""},
		{"/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh", ""},
		{"/ip4/1.2.3.4/tcp/1", "has no /p2p/<peerID> component"},
		{"/ip4/1.2.3.4/tcp/1/p2p/notapeerid", "is not a multiaddr"},
		{"/ip4/999.2.3.4/tcp/1/p2p/12D3KooWFJxHN8NMAQkU6HdqvMM4wpSKnsyzSb2rJwMhg2w4UsWh", "is not a multiaddr"},
		{"147.75.84.103:31282", "is not a multiaddr"},
		{"", "is not a multiaddr"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			c := Default()
			c.BootNodes = []string{tt.addr}
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), "boot-nodes[0]: ") || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want boot-nodes[0] ... %q", err, tt.wantErr)
			}
		})
	}
}

func TestLog_ZerologLevel(t *testing.T) {
	tests := map[string]string{"debug": "debug", "WARN": "warn", "disabled": "disabled", "bogus": "info"}
	for in, want := range tests {
		if got := (Log{Level: in}).ZerologLevel().String(); got != want {
			t.Errorf("ZerologLevel(%q) = %s, want %s", in, got, want)
		}
	}
}
