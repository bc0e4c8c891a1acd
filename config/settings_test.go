package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// assertConfig fails with the differing YAML keys when got != want.
func assertConfig(t *testing.T, got, want Config) {
	t.Helper()
	for _, s := range settings {
		g := reflect.ValueOf(s.field(&got)).Elem().Interface()
		w := reflect.ValueOf(s.field(&want)).Elem().Interface()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v, want %#v", s.key, g, w)
		}
	}
}

// leaves maps every leaf YAML path of the Config tree to its field address.
func leaves(v reflect.Value, prefix string, out map[string]uintptr) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		key := prefix + f.Tag.Get("yaml")
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == v.Type().PkgPath() {
			leaves(v.Field(i), key+".", out)
			continue
		}
		out[key] = v.Field(i).Addr().Pointer()
	}
}

func TestSettings_CoverEveryLeafOfConfigOnce(t *testing.T) {
	var c Config
	want := map[string]uintptr{}
	leaves(reflect.ValueOf(&c).Elem(), "", want)

	seenKey, seenFlag, seenShort := map[string]bool{}, map[string]bool{"config": true}, map[string]bool{}
	for _, s := range settings {
		if seenKey[s.key] {
			t.Errorf("key %s listed twice", s.key)
		}
		seenKey[s.key] = true
		addr, ok := want[s.key]
		if !ok {
			t.Errorf("key %s is not a yaml path of Config", s.key)
			continue
		}
		if got := reflect.ValueOf(s.field(&c)).Pointer(); got != addr {
			t.Errorf("key %s points at the wrong field", s.key)
		}
		if s.flag != "" && seenFlag[s.flag] {
			t.Errorf("flag --%s listed twice", s.flag)
		}
		seenFlag[s.flag] = true
		if s.short != "" && seenShort[s.short] {
			t.Errorf("short flag -%s listed twice", s.short)
		}
		seenShort[s.short] = true
	}
	for key := range want {
		if !seenKey[key] {
			t.Errorf("yaml path %s has no setting", key)
		}
	}
}

// The flag names and shorts of spec §10, plus ours.
func TestNewFlagSet_RegistersSpecFlags(t *testing.T) {
	want := map[string]string{
		"config": "", "role": "r", "concurrency": "c", "boot-nodes": "", "workspace": "",
		"load-attributes": "", "topics": "", "db": "", "log-level": "l", "address": "a",
		"port": "p", "private-key": "", "dialback-address": "", "dialback-port": "",
		"websocket": "w", "websocket-port": "", "websocket-dialback-port": "",
		"no-dialback-peers": "", "must-reach-boot-nodes": "", "disable-connection-limits": "",
		"connection-count": "", "rest-api": "", "runtime-path": "", "runtime-cli": "",
		"cpu-percentage-limit": "", "memory-limit": "", "enable-tracing": "",
		"tracing-grpc-endpoint": "", "tracing-http-endpoint": "", "enable-metrics": "",
		"prometheus-address": "",
		// ours
		"health-interval": "", "log-format": "", "rollcall-timeout": "", "execution-timeout": "",
		"settle-window": "", "result-cache-size": "", "queue-size": "", "max-output-bytes": "",
		"memory-limit-pages": "", "max-run-time": "", "compilation-cache": "", "gateway": "", "sync-interval": "",
		"quic": "", "discovery": "", "libp2p-metrics": "", "debug-address": "", "drain-timeout": "", "memory-target": "", "recent-messages": "",
		"attributes-file": "", "attributes-gateway": "", "attributes-timeout": "",
		"max-request-timeout": "", "max-fs-bytes": "", "fs-budget-bytes": "",
		"cluster-formation-timeout": "", "cluster-abandon-after": "", "raft-heartbeat-timeout": "",
		"raft-election-timeout": "", "raft-leader-lease-timeout": "", "raft-commit-timeout": "", "pbft-request-timeout": "",
	}
	fs, _ := NewFlagSet("test")
	for name, short := range want {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("flag --%s not registered", name)
			continue
		}
		if f.Shorthand != short {
			t.Errorf("flag --%s short = %q, want %q", name, f.Shorthand, short)
		}
	}
	n := 0
	fs.VisitAll(func(*pflag.Flag) { n++ })
	if n != len(want) {
		t.Errorf("%d flags registered, want %d", n, len(want))
	}
}

// Usage defaults come from Default(), so `--help` tells the truth.
func TestNewFlagSet_DefaultsAreDefault(t *testing.T) {
	fs, _ := NewFlagSet("test")
	def := Default()
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		v := reflect.ValueOf(s.field(&def)).Elem().Interface()
		want := fmt.Sprint(v)
		if list, ok := v.([]string); ok {
			want = "[" + strings.Join(list, ",") + "]"
		}
		if got := fs.Lookup(s.flag).DefValue; got != want {
			t.Errorf("--%s default %q, want %q", s.flag, got, want)
		}
	}
}

// Matching env names ignoring case and dashes must not make two keys collide.
func TestEnvIndex_NormalisedKeysAreUnique(t *testing.T) {
	if len(envIndex) != len(settings) {
		t.Errorf("envIndex has %d keys for %d settings: two keys differ only in case or dashes", len(envIndex), len(settings))
	}
}
