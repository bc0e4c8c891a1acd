package config

import (
	"reflect"
	"testing"

	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/fstore"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// Each component owns its defaults; the default Config maps back onto exactly those, so a
// default changed in one place cannot drift from the other.
func TestDefault_ComesFromComponents(t *testing.T) {
	c := Default()
	if got, want := c.Node("dev"), actors.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("node config from defaults:\n got %+v\nwant %+v", got, want)
	}
	exec := c.Executor()
	if want := executor.DefaultConfig(); exec.Workspace != "" || !reflect.DeepEqual(withoutLogger(exec), withoutLogger(want)) {
		t.Errorf("executor config from defaults:\n got %+v\nwant %+v", exec, want)
	}
	store := c.Store()
	if want := fstore.DefaultConfig(); store.Workspace != "" || !reflect.DeepEqual(store, want) {
		t.Errorf("store config from defaults:\n got %+v\nwant %+v", store, want)
	}
	if got, want := c.Attestation(), attest.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("attestation config from defaults:\n got %+v\nwant %+v", got, want)
	}
	if got, want := c.API(), api.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("api config from defaults:\n got %+v\nwant %+v", got, want)
	}
	if got, want := c.Tracing(), tracing.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("tracing config from defaults:\n got %+v\nwant %+v", got, want)
	}
	host := c.Host()
	if host.MaxDirectMessageBytes != messages.DirectMessageLimit(c.Worker.MaxOutputBytes) {
		t.Errorf("direct message limit %d is not derived from the output limit %d", host.MaxDirectMessageBytes, c.Worker.MaxOutputBytes)
	}
	if want := p2p.DefaultConfig(); !reflect.DeepEqual(host, want) {
		t.Errorf("host config from defaults:\n got %+v\nwant %+v", host, want)
	}
}

func withoutLogger(c executor.Config) executor.Config {
	c.Logger = zerolog.Nop()
	return c
}

// A setting given in the file or flags reaches its component.
func TestComponents_CarryTheSettings(t *testing.T) {
	c := Default()
	c.Role = string(actors.RoleHead)
	c.Concurrency = 3
	c.Head.SettleWindow = 7
	c.Head.MaxRequestTimeout = 8
	c.Worker.MaxOutputBytes = 1000
	c.Worker.QueueSize = 5
	c.FStore.SyncInterval = 9
	c.FStore.Gateway = "http://127.0.0.1:1/{cid}"
	c.Workspace = "/w"
	c.Connectivity.Port = 4242
	c.Connectivity.QUIC = false
	c.RecentMessages = 12
	n := c.Node("v1")
	if n.Role != actors.RoleHead || n.Concurrency != 3 || n.SettleWindow != 7 || n.QueueSize != 5 ||
		n.Installer.SyncInterval != 9 || n.Version != "v1" || n.Inspect.RecentMessages != 12 {
		t.Errorf("node %+v", n)
	}
	if a := c.API(); a.MaxRequestTimeout != 8 {
		t.Errorf("api %+v", a)
	}
	c.Worker.MemoryLimitKB, c.Worker.MaxFSBytes, c.Worker.FSBudgetBytes = 2_000_000, 1<<20, 8<<20
	if e := c.Executor(); e.MaxOutputBytes != 1000 || e.Workspace != "/w" ||
		e.MemoryBudget != 2_000_000_000 || e.MaxFSBytes != 1<<20 || e.FSBudget != 8<<20 {
		t.Errorf("executor %+v", e)
	}
	if s := c.Store(); s.GatewayTemplate != "http://127.0.0.1:1/{cid}" || s.Workspace != "/w" {
		t.Errorf("store %+v", s)
	}
	c.AttributesFile, c.AttributesGateway, c.AttributesTimeout = "/a.bin", "http://127.0.0.1:1/{name}", 3
	if a := c.Attestation(); a.File != "/a.bin" || a.FromGateway || a.GatewayTemplate != "http://127.0.0.1:1/{name}" || a.Timeout != 3 {
		t.Errorf("attestation %+v", a)
	}
	c.LoadAttributes = true
	if a := c.Attestation(); !a.FromGateway {
		t.Errorf("load-attributes did not reach the attestation config: %+v", a)
	}
	if h := c.Host(); h.Port != 4242 || !h.DisableQUIC || h.MaxDirectMessageBytes != messages.DirectMessageLimit(1000) {
		t.Errorf("host %+v", h)
	}
	c.Telemetry.Tracing = Tracing{Enable: true, ExporterBatchTimeout: 0, GRPC: TracingEndpoint{"g:4317"}, HTTP: TracingEndpoint{"h:4318"}}
	if tr := c.Tracing(); !tr.Enable || tr.BatchTimeout != 0 || tr.GRPCEndpoint != "g:4317" || tr.HTTPEndpoint != "h:4318" {
		t.Errorf("tracing %+v", tr)
	}
}
