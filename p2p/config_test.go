package p2p

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfig_Validate(t *testing.T) {
	const boot = "/ip4/127.0.0.1/tcp/9000/p2p/12D3KooWH9GerdSEroL2nqjpd2GuE5dwmqNi7uHX7FoywBdKcP4q"
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero config takes defaults", func(c *Config) { *c = Config{} }, ""},
		{"boot node", func(c *Config) { c.BootNodes = []string{boot} }, ""},
		{"dialback hostname", func(c *Config) { c.DialbackAddress, c.DialbackPort = "node.example.com", 9000 }, ""},
		{"dialback ipv6", func(c *Config) { c.DialbackAddress, c.DialbackPort = "::1", 9000 }, ""},
		{"websocket ports", func(c *Config) { c.Websocket, c.Port, c.WebsocketPort = true, 9000, 9010 }, ""},
		{"address not an IP", func(c *Config) { c.Address = "localhost" }, "Address"},
		{"port above 65535", func(c *Config) { c.Port = 70000 }, "Port: 70000 is above the maximum 65535"},
		{"websocket port equals tcp port", func(c *Config) { c.Websocket, c.Port, c.WebsocketPort = true, 9000, 9000 }, "WebsocketPort: 9000 must differ from Port"},
		{"dialback address without port", func(c *Config) { c.DialbackAddress = "1.2.3.4" }, "DialbackPort: required when DialbackAddress"},
		{"dialback port without address", func(c *Config) { c.DialbackPort = 9000 }, "DialbackAddress: required when DialbackPort"},
		{"dialback address not a host", func(c *Config) { c.DialbackAddress, c.DialbackPort = "bad host!", 9000 }, "neither an IP address nor a DNS name"},
		{"websocket dialback port equals dialback port", func(c *Config) {
			c.Websocket, c.DialbackAddress, c.DialbackPort, c.WebsocketDialbackPort = true, "1.2.3.4", 9000, 9000
		}, "WebsocketDialbackPort: 9000 must differ from DialbackPort"},
		{"bad boot node multiaddr", func(c *Config) { c.BootNodes = []string{"not-a-multiaddr"} }, "boot node"},
		{"boot node without peer id", func(c *Config) { c.BootNodes = []string{"/ip4/127.0.0.1/tcp/9000"} }, "/p2p/<peer-id>"},
		{"empty topic", func(c *Config) { c.Topics = []string{""} }, "Topics[0]"},
		{"negative dialback limit", func(c *Config) { c.DialbackPeersLimit = -1 }, "DialbackPeersLimit: -1 is below the minimum 0"},
		{"negative message size", func(c *Config) { c.MaxDirectMessageBytes = -1 }, "MaxDirectMessageBytes"},
		{"negative interval", func(c *Config) { c.DiscoveryInterval = -time.Second }, "DiscoveryInterval: -1s is below the minimum 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.modify(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want error containing %q", tt.want)
			case tt.want != "" && (!strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidConfig)):
				t.Fatalf("Validate() = %v, want ErrInvalidConfig containing %q", err, tt.want)
			}
		})
	}
}

func TestConfig_Addresses(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Port, cfg.Websocket, cfg.WebsocketPort = 9000, true, 9010
	got := strings.Join(cfg.listenAddrs(), " ")
	want := "/ip4/0.0.0.0/tcp/9000 /ip4/0.0.0.0/udp/9000/quic-v1 /ip4/0.0.0.0/tcp/9010/ws"
	if got != want {
		t.Errorf("listen addrs = %s, want %s", got, want)
	}

	// Quirk Q8 fixed: the websocket dial-back address uses WebsocketDialbackPort.
	cfg.DialbackAddress, cfg.DialbackPort, cfg.WebsocketDialbackPort = "node.example.com", 19000, 19010
	addrs, err := cfg.dialbackAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var strs []string
	for _, a := range addrs {
		strs = append(strs, a.String())
	}
	got = strings.Join(strs, " ")
	want = "/dns/node.example.com/tcp/19000 /dns/node.example.com/tcp/19010/ws"
	if got != want {
		t.Errorf("dial-back addrs = %s, want %s", got, want)
	}

	cfg.Topics = []string{"a", DefaultTopic, "a", "b"}
	if got := strings.Join(cfg.topicList(), ","); got != DefaultTopic+",a,b" {
		t.Errorf("topics = %s", got)
	}
}
