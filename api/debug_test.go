package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
)

// requestMsg is a message that names a request, labelled as the node's describer would.
type requestMsg struct{ id string }

func describeTest(_ actor.Actor, msg any) inspect.Label {
	if m, ok := msg.(requestMsg); ok {
		p, err := peer.Decode(workerPeer)
		if err != nil {
			panic(err)
		}
		return inspect.Label{Type: "MsgExecute", Request: m.id, Peer: p}
	}
	return inspect.Label{Type: "other"}
}

// A real peer ID, so that Record.Peer renders as one.
const workerPeer = "12D3KooWH9GerdSEroL2nqjpd2GuE5dwmqNi7uHX7FoywBdKcP4q"

type fakePeers map[string]NodeTrace

func (f fakePeers) PeerTrace(_ context.Context, peer, _ string) (NodeTrace, error) {
	if t, ok := f[peer]; ok {
		return t, nil
	}
	return NodeTrace{}, errors.New("protocol not supported")
}

func debugServer(t *testing.T, peers PeerTracer) (*actortest.System, *httptest.Server) {
	t.Helper()
	sys := actortest.NewSystem(t, actortest.WithInspect(inspect.Config{RecentMessages: 8, RetiredActors: 8}, describeTest))
	cfg := DefaultConfig()
	cfg.InstallTimeout = time.Second
	srv := httptest.NewServer(newHandler(cfg, Deps{Inspect: sys.Registry, Gatherer: prometheus.NewRegistry(), NodeID: "head-id",
		Role: "head", Log: zerolog.Nop(), RecentMessages: 8, Peers: peers}, debug))
	t.Cleanup(srv.Close)
	return sys, srv
}

func get(t *testing.T, url string, out any) (int, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: decode: %v", url, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func TestActorsPage_IsOneSelfContainedDocument(t *testing.T) {
	_, srv := debugServer(t, nil)
	resp, err := http.Get(srv.URL + PathActorsUI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	page := body.String()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(page, "{{") {
		t.Error("a placeholder was left in the page")
	}
	// Nothing is loaded from anywhere: no src/href attributes (but the empty icon, which keeps
	// browsers from asking for /favicon.ico), no absolute URLs.
	if m := regexp.MustCompile(`(?i:src=|href=|https?://|@import)|url\(`).FindString(strings.Replace(page, `href="data:,"`, "", 1)); m != "" {
		t.Errorf("the page refers to something outside itself: %q", m)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "connect-src 'self'", "script-src 'sha256-", "style-src 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows more than the page's own script", csp)
	}
	t.Logf("page weight: %d bytes", len(page))
}

func TestActorMessages_ByActorID(t *testing.T) {
	sys, srv := debugServer(t, nil)
	pid := sys.Spawn(t, "router", "router", func() actor.Actor { return actor.ReceiveFunc(func(actor.Context) {}) })
	sys.Send(pid, requestMsg{id: "r1"})
	sys.WaitActor(t, "router", func(a inspect.ActorInfo) bool { return a.Messages == 1 }, 5*time.Second)

	var m ActorMessages
	if status, _ := get(t, srv.URL+PathActorMessages+"?id=router", &m); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if m.ID != "router" || m.Kept != 8 || len(m.Messages) != 2 || m.Messages[0].Type != "started" ||
		m.Messages[1].Type != "MsgExecute" || m.Messages[1].Request != "r1" || m.Messages[1].Peer != workerPeer {
		t.Fatalf("messages %+v", m)
	}
	var e errorBody
	if status, _ := get(t, srv.URL+PathActorMessages+"?id=nobody", &e); status != http.StatusNotFound || !strings.Contains(e.Message, "nobody") {
		t.Errorf("unknown actor: %d %+v", status, e)
	}
	if status, _ := get(t, srv.URL+PathActorMessages, &e); status != http.StatusBadRequest || e.Message == "" {
		t.Errorf("no id: %d %+v", status, e)
	}
}

func TestTrace_AsksEachPeerOnTheLocalPath(t *testing.T) {
	workerPart := NodeTrace{Node: "ignored: the peer speaks for itself", Role: "worker", Steps: []inspect.Step{{Actor: "node/work/r1"}}}
	sys, srv := debugServer(t, fakePeers{workerPeer: workerPart})
	pid := sys.Spawn(t, "router", "router", func() actor.Actor { return actor.ReceiveFunc(func(actor.Context) {}) })
	sys.Send(pid, requestMsg{id: "r1"})
	sys.WaitActor(t, "router", func(a inspect.ActorInfo) bool { return a.Messages == 1 }, 5*time.Second)

	var tr RequestTrace
	if status, _ := get(t, srv.URL+PathTrace+"?request=r1", &tr); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if tr.Request != "r1" || len(tr.Nodes) != 2 {
		t.Fatalf("trace %+v", tr)
	}
	if local := tr.Nodes[0]; local.Node != "head-id" || local.Role != "head" || len(local.Steps) != 1 || local.Steps[0].Actor != "router" {
		t.Errorf("local part %+v", local)
	}
	if remote := tr.Nodes[1]; remote.Node != workerPeer || remote.Role != "worker" || len(remote.Steps) != 1 || remote.Error != "" {
		t.Errorf("worker part %+v", remote)
	}
	if _, _ = get(t, srv.URL+PathTrace+"?request=r1&peers=false", &tr); len(tr.Nodes) != 1 {
		t.Errorf("peers=false still asked the peers: %+v", tr)
	}
}

func TestTrace_APeerThatCannotAnswerIsNamedWithTheReason(t *testing.T) {
	sys, srv := debugServer(t, fakePeers{})
	pid := sys.Spawn(t, "router", "router", func() actor.Actor { return actor.ReceiveFunc(func(actor.Context) {}) })
	sys.Send(pid, requestMsg{id: "r1"})
	sys.WaitActor(t, "router", func(a inspect.ActorInfo) bool { return a.Messages == 1 }, 5*time.Second)
	var tr RequestTrace
	get(t, srv.URL+PathTrace+"?request=r1", &tr)
	if len(tr.Nodes) != 2 || tr.Nodes[1].Node != workerPeer || !strings.Contains(tr.Nodes[1].Error, "not supported") || tr.Nodes[1].Steps == nil {
		t.Fatalf("trace %+v", tr)
	}
	var e errorBody
	if status, _ := get(t, srv.URL+PathTrace, &e); status != http.StatusBadRequest || e.Message == "" {
		t.Errorf("no request: %d %+v", status, e)
	}
	// A request nobody has seen is an empty path, not an error.
	if _, _ = get(t, srv.URL+PathTrace+"?request=unknown", &tr); len(tr.Nodes) != 1 || tr.Nodes[0].Steps == nil || len(tr.Nodes[0].Steps) != 0 {
		t.Errorf("unknown request: %+v", tr)
	}
}
