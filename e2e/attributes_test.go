package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

func newKey(t *testing.T) (crypto.PrivKey, peer.ID) {
	t.Helper()
	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, id
}

// attestationFile encodes pairs signed by worker and attested by attestor.
func attestationFile(t *testing.T, worker, attestor crypto.PrivKey, pairs ...string) []byte {
	t.Helper()
	a := attest.Attestation{}
	for i := 0; i+1 < len(pairs); i += 2 {
		a.Attributes = append(a.Attributes, attest.Attribute{Name: pairs[i], Value: pairs[i+1]})
	}
	if err := attest.Sign(&a, worker); err != nil {
		t.Fatal(err)
	}
	if err := attest.AddAttestor(&a, attestor); err != nil {
		t.Fatal(err)
	}
	data, err := attest.Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func attributes(attestor peer.ID, pairs ...string) *messages.Attributes {
	a := &messages.Attributes{AttestationRequired: true, Attestors: messages.Attestors{Each: []peer.ID{attestor}}}
	for i := 0; i+1 < len(pairs); i += 2 {
		a.Values = append(a.Values, messages.Parameter{Name: pairs[i], Value: pairs[i+1]})
	}
	return a
}

func resultPeers(resp messages.ExecutionResponse) []peer.ID {
	var out []peer.ID
	for _, r := range resp.Results {
		out = append(out, r.Peers...)
	}
	slices.Sort(out)
	return out
}

// Two workers, one attested region=eu by a given attestor: a request for region=eu runs on that
// worker only, one for region=us times out saying no worker matched; reloading the attestation
// changes what the worker matches.
func TestAttributes_RequestRunsOnlyOnTheMatchingWorker(t *testing.T) {
	t.Parallel() // mostly waiting (timers, gates, processes): it overlaps the busy tests
	net := guestNetwork(t, 1, nil)
	plain := net.Workers[0]
	euKey, euID := newKey(t)
	attestorKey, attestorID := newKey(t)
	path := filepath.Join(t.TempDir(), "attributes.bin")
	writeFile(t, path, attestationFile(t, euKey, attestorKey, "region", "eu", "tier", "gold"))
	cfg := net.NodeConfig(2)
	cfg.AttributesFile = path
	eu := net.StartNode(cfg, euKey, []string{net.Head.Host.Addresses()[0]})
	net.WaitMesh(eu)

	// Without attributes both workers run it.
	resp := execute(t, net.Head, guestRequest(2))
	if want := []peer.ID{plain.Host.ID(), euID}; resp.Code != messages.CodeOK || !sameSet(resultPeers(resp), want) {
		t.Fatalf("no attributes: %+v, want results from %v", resp, want)
	}

	// region=eu, attested by the attestor, any number of workers: the eu worker only.
	req := guestRequest(0)
	req.Config.Attributes = attributes(attestorID, "region", "eu")
	resp = execute(t, net.Head, req)
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting ||
		!slices.Equal(resultPeers(resp), []peer.ID{euID}) {
		t.Fatalf("region=eu: %+v, want one result from %s", resp, euID)
	}
	plain.WaitMetric(t, "b7s_node_rollcalls_skipped", map[string]string{"reason": "no_attestation"}, 1)

	// region=us: nobody matches; the roll call times out and says what was asked.
	req = guestRequest(0)
	req.Config.Attributes = attributes(attestorID, "region", "us")
	req.Config.Timeout = 1
	resp = execute(t, net.Head, req)
	want := "roll call timed out: no worker matching the requested attributes (region=us, attested by each of " + attestorID.String() + ") answered"
	if resp.Code != messages.CodeTimeout || resp.Message != want || len(resp.Results) != 0 {
		t.Fatalf("region=us: %+v, want 408 %q", resp, want)
	}
	eu.WaitMetric(t, "b7s_node_rollcalls_skipped", map[string]string{"reason": "attribute_value"}, 1)
	plain.WaitMetric(t, "b7s_node_rollcalls_skipped", map[string]string{"reason": "no_attestation"}, 2)

	// The worker shows what it carries.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tree, err := debugAPI(eu).Actors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a := tree.Attestation; a == nil || a.Source != path || a.Signer != euID || !slices.Equal(a.Attestors, []peer.ID{attestorID}) ||
		len(a.Attributes) != 2 || a.Attributes[0] != (attest.Attribute{Name: "region", Value: "eu"}) {
		t.Fatalf("/debug/actors attestation %+v", tree.Attestation)
	}

	// A new file, reloaded (as on SIGHUP): the worker now matches region=us.
	writeFile(t, path, attestationFile(t, euKey, attestorKey, "region", "us"))
	if changed, err := eu.ReloadAttestation(ctx); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	req.Config.Timeout = 0
	resp = execute(t, net.Head, req)
	if resp.Code != messages.CodeOK || !slices.Equal(resultPeers(resp), []peer.ID{euID}) {
		t.Fatalf("region=us after the reload: %+v", resp)
	}
}

func sameSet(a, b []peer.ID) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// workerConfig is a lone worker on 127.0.0.1 that never needs to reach anyone.
func workerConfig(t *testing.T) config.Config {
	c := config.Default()
	c.Role = string(actors.RoleWorker)
	c.Connectivity.Address = "127.0.0.1"
	c.Connectivity.Discovery = false
	dir := t.TempDir()
	c.Workspace, c.DB = dir+"/workspace", dir+"/db"
	c.Telemetry.Metrics.Enable, c.Telemetry.Metrics.PrometheusAddress = true, "127.0.0.1:0"
	c.DebugAddress = "127.0.0.1:0"
	return c
}

func startWorker(t *testing.T, cfg config.Config, key crypto.PrivKey) (*daemon.Daemon, error) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := daemon.Start(ctx, cfg, daemon.Options{Key: key, Log: zerolog.Nop(), Version: "test"})
	if err == nil {
		t.Cleanup(d.Stop)
	}
	return d, err
}

// An attestation whose signatures fail, or that belongs to another node, stops the start with
// an error that names the entry.
func TestAttributes_StartRefusesAnAttestationThatDoesNotVerify(t *testing.T) {
	workerKey, _ := newKey(t)
	otherKey, otherID := newKey(t)
	attestorKey, attestorID := newKey(t)

	forged, err := attest.Decode(attestationFile(t, workerKey, attestorKey, "region", "us"))
	if err != nil {
		t.Fatal(err)
	}
	forged.Attributes[0].Value = "eu" // changed after signing
	forgedData, err := attest.Encode(forged)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"signatures fail":     {forgedData, "attestor 1 by " + attestorID.String() + ": the signature does not match"},
		"another node's file": {attestationFile(t, otherKey, attestorKey, "region", "eu"), "the node signature is by " + otherID.String()},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := workerConfig(t)
			cfg.AttributesFile = filepath.Join(t.TempDir(), "attributes.bin")
			writeFile(t, cfg.AttributesFile, c.data)
			_, err := startWorker(t, cfg, workerKey)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), cfg.AttributesFile) {
				t.Fatalf("start: %v, want an error naming %s and %q", err, cfg.AttributesFile, c.want)
			}
		})
	}
}

// --load-attributes fetches the worker's attestation from a private gateway by the IPNS name of
// its key; a gateway without the record stops the start with the status.
func TestAttributes_LoadFromAPrivateGateway(t *testing.T) {
	workerKey, workerID := newKey(t)
	attestorKey, attestorID := newKey(t)
	data := attestationFile(t, workerKey, attestorKey, "region", "eu")
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ipns/"+attest.IPNSName(workerID)+"/attributes.bin" {
			w.Write(data)
			return
		}
		http.NotFound(w, r)
	}))
	defer gw.Close()

	cfg := workerConfig(t)
	cfg.LoadAttributes = true
	cfg.AttributesGateway = gw.URL + "/ipns/{name}/attributes.bin"
	d, err := startWorker(t, cfg, workerKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tree, err := client.New(d.DebugAddress()).Actors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a := tree.Attestation; a == nil || !strings.HasPrefix(a.Source, gw.URL+"/ipns/k51") || !slices.Equal(a.Attestors, []peer.ID{attestorID}) {
		t.Fatalf("attestation %+v", tree.Attestation)
	}

	otherKey, _ := newKey(t) // nothing published under its name
	cfg = workerConfig(t)
	cfg.LoadAttributes = true
	cfg.AttributesGateway = gw.URL + "/ipns/{name}/attributes.bin"
	if _, err := startWorker(t, cfg, otherKey); err == nil || !strings.Contains(err.Error(), "status 404 Not Found") {
		t.Fatalf("start without a record: %v", err)
	}
}
