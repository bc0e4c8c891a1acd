package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeYAML: no configuration file crashes the loader; and a file that passes Validate
// gives every component a configuration its own Validate accepts, so a bad value is refused at
// start with the setting's name, not later by a component that was handed it (the node's
// paths resolved as daemon.Start resolves them).
func FuzzDecodeYAML(f *testing.F) {
	example, err := os.ReadFile("example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte("role: head\nhead:\n  rest-api: 127.0.0.1:8080\n  max-request-timeout: 2m\n  settle-window: 20s\n"))
	f.Add([]byte("concurrency: 0\nhealth-interval: -1s\nworker:\n  max-output-bytes: 99999999999\n  memory-limit-pages: 70000\n"))
	f.Add([]byte("fstore:\n  gateway: \"http://{cid}\"\n  sync-interval: 1s\nattributes-gateway: \"https://x/{name}\"\nload-attributes: true\n"))
	f.Add([]byte("a: &a [1,2]\nb: *a\nboot-nodes: [\"/ip4/1.2.3.4/tcp/1/p2p/12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq\"]\n"))
	f.Add([]byte("connectivity: {port: 65536, websocket-port: 9, dialback-address: \"::1\", dialback-port: 3}\n"))
	f.Add([]byte("log: {level: WARN, format: json}\ntelemetry: {metrics: {enable: true}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if err := decodeYAML(&c, data); err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			return
		}
		// As ResolvePaths leaves them, without touching the disk.
		if c.Workspace == "" {
			c.Workspace = "workspace"
		}
		c.Workspace = filepath.Join(string(filepath.Separator), c.Workspace)
		if c.DB == "" {
			c.DB = "/db"
		}

		if err := c.Node("fuzz").Validate(); err != nil {
			t.Fatalf("valid configuration, invalid node config: %v\n%s", err, data)
		}
		if err := c.Executor().Validate(); err != nil {
			t.Fatalf("valid configuration, invalid executor config: %v\n%s", err, data)
		}
		if err := c.Store().Validate(); err != nil {
			t.Fatalf("valid configuration, invalid store config: %v\n%s", err, data)
		}
		if err := c.Host().Validate(); err != nil {
			t.Fatalf("valid configuration, invalid host config: %v\n%s", err, data)
		}
		if err := c.API().Validate(); err != nil {
			t.Fatalf("valid configuration, invalid API config: %v\n%s", err, data)
		}
		att := c.Attestation()
		att.Self = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq" // daemon sets the node's own ID
		if err := att.Validate(); err != nil {
			t.Fatalf("valid configuration, invalid attestation config: %v\n%s", err, data)
		}
	})
}
