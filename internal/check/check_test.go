package check

import (
	"testing"
	"time"
)

func TestChecks_NameTheSettingAndTheBound(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string // "" for no error
	}{
		{"min ok", Min("queue-size", 0, 0), ""},
		{"min", Min("queue-size", -1, 0), "queue-size: -1 is below the minimum 0"},
		{"max", Max("port", 70000, 65535), "port: 70000 is above the maximum 65535"},
		{"range low", Range("concurrency", 0, 1, 1024), "concurrency: 0 is below the minimum 1"},
		{"range high", Range("concurrency", 2000, 1, 1024), "concurrency: 2000 is above the maximum 1024"},
		{"range ok", Range("concurrency", 10, 1, 1024), ""},
		{"duration", Min("health-interval", time.Millisecond, 100*time.Millisecond), "health-interval: 1ms is below the minimum 100ms"},
		{"set", Set("workspace", ""), "workspace: must be set"},
		{"set ok", Set("workspace", "/w"), ""},
		{"one of", OneOf("role", "boss", "head", "worker"), `role: "boss" is not one of head, worker`},
		{"one of ok", OneOf("role", "head", "head", "worker"), ""},
	}
	for _, c := range cases {
		got := ""
		if c.err != nil {
			got = c.err.Error()
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
