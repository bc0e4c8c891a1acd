package attest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

func writeAttestation(t *testing.T, path string, a Attestation) {
	t.Helper()
	data, err := Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func fileLoader(t *testing.T, path string, self peer.ID) (*Loader, *Holder) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.File, cfg.Self = path, self
	h := &Holder{}
	l, err := NewLoader(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	return l, h
}

var euWanted = &messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "eu"}}}

func TestLoader_File(t *testing.T) {
	node, attestor := newKey(t, crypto.Ed25519), newKey(t, crypto.Secp256k1)
	path := filepath.Join(t.TempDir(), "attributes.bin")
	writeAttestation(t, path, signed(t, node, []crypto.PrivKey{attestor}, "region", "eu"))
	l, h := fileLoader(t, path, idOf(t, node))
	if h.Current() != nil || l.Info() != nil {
		t.Fatal("something in use before loading")
	}
	changed, err := l.Load(context.Background())
	if err != nil || !changed {
		t.Fatalf("first load: %v %v", changed, err)
	}
	if !h.Current().Match(euWanted).OK() {
		t.Fatal("loaded attestation does not match region=eu")
	}
	info := l.Info()
	if info.Source != path || len(info.SHA256) != 64 || info.Signer != idOf(t, node) ||
		len(info.Attestors) != 1 || info.Attestors[0] != idOf(t, attestor) ||
		len(info.Attributes) != 1 || info.Attributes[0] != (Attribute{"region", "eu"}) || info.LastError != "" || info.LoadedAt.IsZero() {
		t.Fatalf("info %+v", info)
	}
	cur := h.Current()
	if changed, err := l.Load(context.Background()); err != nil || changed || h.Current() != cur {
		t.Fatalf("same file again: changed %v err %v", changed, err)
	}
}

func TestLoader_RefusesAndKeepsWhatIsInUse(t *testing.T) {
	node, other, attestor := seedKey(t, 0), seedKey(t, 5), seedKey(t, 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "attributes.bin")
	writeAttestation(t, path, signed(t, node, []crypto.PrivKey{attestor}, "region", "eu"))
	l, h := fileLoader(t, path, idOf(t, node))
	if _, err := l.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	inUse := h.Current()

	forged := signed(t, node, []crypto.PrivKey{attestor}, "region", "eu")
	forged.Attributes[0].Value = "us" // attributes changed after signing
	cases := []struct {
		name  string
		write func()
		want  string
	}{
		{"missing file", func() { os.Remove(path) }, "no such file"},
		{"not an attestation", func() { os.WriteFile(path, []byte("hello"), 0o600) }, "shorter than the 1024-byte attribute block"},
		{"signatures fail", func() { writeAttestation(t, path, forged) }, "attestor 1 by " + idOf(t, attestor).String()},
		{"another node's attestation", func() { writeAttestation(t, path, signed(t, other, nil, "region", "eu")) },
			"the node signature is by " + idOf(t, other).String() + ", not by this node"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.write()
			_, err := l.Load(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if h.Current() != inUse {
				t.Fatal("a refused attestation replaced the one in use")
			}
			if info := l.Info(); info == nil || !strings.Contains(info.LastError, c.want) {
				t.Fatalf("info %+v does not show the error", info)
			}
		})
	}
}

// Watch reloads a changed file on its tick; a bad file is logged, and the last good one stays.
func TestLoader_WatchPicksUpAChangedFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		node := seedKey(t, 0)
		path := filepath.Join(t.TempDir(), "attributes.bin")
		writeAttestation(t, path, signed(t, node, nil, "region", "eu"))
		l, h := fileLoader(t, path, idOf(t, node))
		if _, err := l.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go l.Watch(ctx, time.Minute)
		us := &messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "us"}}}

		writeAttestation(t, path, signed(t, node, nil, "region", "us"))
		synctest.Wait()
		if !h.Current().Match(euWanted).OK() {
			t.Fatal("reloaded before the tick")
		}
		time.Sleep(time.Minute) // virtual time: the tick
		synctest.Wait()
		if !h.Current().Match(us).OK() {
			t.Fatal("changed file not picked up on the tick")
		}

		os.WriteFile(path, []byte("garbage"), 0o600)
		time.Sleep(time.Minute)
		synctest.Wait()
		if !h.Current().Match(us).OK() || l.Info().LastError == "" {
			t.Fatalf("a bad file replaced the good one, or the error is not shown: %+v", l.Info())
		}
	})
}

func gatewayLoader(t *testing.T, url string, self peer.ID, timeout time.Duration) (*Loader, *Holder) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.FromGateway, cfg.GatewayTemplate, cfg.Self, cfg.Timeout = true, url+"/ipns/{name}/attributes.bin", self, timeout
	h := &Holder{}
	l, err := NewLoader(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	return l, h
}

func TestLoader_Gateway(t *testing.T) {
	node := seedKey(t, 0)
	self := idOf(t, node)
	data, err := Encode(signed(t, node, []crypto.PrivKey{seedKey(t, 1)}, "region", "eu"))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ipns/"+IPNSName(self)+"/attributes.bin":
			w.Write(data)
		case strings.HasPrefix(r.URL.Path, "/slow/"):
			select { // never answers; the loader's timeout ends the wait
			case <-r.Context().Done():
			case <-release:
			}
		case strings.HasPrefix(r.URL.Path, "/huge/"):
			w.Write(make([]byte, MaxFileBytes+1))
		case strings.HasPrefix(r.URL.Path, "/error/"):
			http.Error(w, "upstream is down", http.StatusBadGateway)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	l, h := gatewayLoader(t, srv.URL, self, 10*time.Second)
	if changed, err := l.Load(context.Background()); err != nil || !changed {
		t.Fatalf("load: %v", err)
	}
	if !h.Current().Match(euWanted).OK() || !strings.HasSuffix(h.Current().Source, "/ipns/"+IPNSName(self)+"/attributes.bin") {
		t.Fatalf("loaded %+v", h.Current())
	}

	cases := []struct {
		name, prefix string
		timeout      time.Duration
		want         string
	}{
		{"no record: 404", "/other", 10 * time.Second, "status 404 Not Found"},
		{"gateway error", "/error", 10 * time.Second, "status 502 Bad Gateway"},
		{"no answer", "/slow", 200 * time.Millisecond, "no answer within the timeout"},
		{"too large", "/huge", 10 * time.Second, "body larger than the 1048576 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, h := gatewayLoader(t, srv.URL+c.prefix, self, c.timeout)
			_, err := l.Load(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), srv.URL+c.prefix+"/ipns/") {
				t.Fatalf("error %v, want one with the URL and %q", err, c.want)
			}
			if h.Current() != nil {
				t.Fatal("something loaded")
			}
		})
	}
}

// The IPNS name is the key's CIDv1 (libp2p-key) in base36, which subdomain gateways take.
func TestIPNSName(t *testing.T) {
	for _, key := range []crypto.PrivKey{seedKey(t, 0), newKey(t, crypto.Secp256k1)} {
		id := idOf(t, key)
		name := IPNSName(id)
		c, err := cid.Decode(name)
		if err != nil || name[0] != 'k' || c.Type() != cid.Libp2pKey || c.Version() != 1 {
			t.Fatalf("%s: %v %v", name, c, err)
		}
		if back, err := peer.FromCid(c); err != nil || back != id {
			t.Fatalf("%s names %s, want %s", name, back, id)
		}
		if name != strings.ToLower(name) {
			t.Fatalf("%s is not lowercase (a DNS label)", name)
		}
	}
	if got := IPNSName(idOf(t, seedKey(t, 0))); !strings.HasPrefix(got, "k51") {
		t.Fatalf("ed25519 name %s", got)
	}
}

func TestConfig_Validate(t *testing.T) {
	self := idOf(t, seedKey(t, 0))
	cases := []struct {
		name string
		edit func(c *Config)
		want string // "" for valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"file", func(c *Config) { c.File, c.Self = "/a", self }, ""},
		{"gateway", func(c *Config) { c.FromGateway, c.Self = true, self }, ""},
		{"both sources", func(c *Config) { c.File, c.FromGateway, c.Self = "/a", true, self }, "one source"},
		{"no placeholder", func(c *Config) { c.FromGateway, c.Self, c.GatewayTemplate = true, self, "https://gw/x" }, "does not contain {name}"},
		{"not http", func(c *Config) { c.FromGateway, c.Self, c.GatewayTemplate = true, self, "ftp://{name}/x" }, "not an http(s) URL template"},
		{"no self", func(c *Config) { c.File = "/a" }, "Self: must be set"},
		{"timeout", func(c *Config) { c.Timeout = 0 }, "Timeout: 0s is below the minimum 1ms"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.edit(&cfg)
		err := cfg.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
