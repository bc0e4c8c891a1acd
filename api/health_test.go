package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/messages"
)

func serve(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec
}

// The public address serves the b7s API and health only: the debug pages name live requests,
// and anyone who knows a request ID can fetch its result.
func TestSurfaces_DebugPathsAreNotPublic(t *testing.T) {
	d := Deps{Gatherer: prometheus.NewRegistry(), Head: &fakeHead{}, NodeID: "n", Role: "head",
		Inspect: inspect.NewRegistry(inspect.DefaultConfig(), nil)}
	pub, dbg := NewHandler(DefaultConfig(), d), NewDebugHandler(DefaultConfig(), d)
	tests := []struct {
		path          string
		public, debug int
	}{
		{PathHealth, 200, 200},
		{PathLive, 200, 200},
		{PathReady, 200, 200},
		{PathMetrics, 404, 200},
		{PathActors, 404, 200},
		{PathActorsUI, 404, 200},
		{PathActorMessages + "?id=node", 404, 404}, // served on debug: no such actor
		{PathTrace, 404, 400},                      // served on debug: no request given
		{"/debug/pprof/", 404, 200},
		{"/debug/pprof/cmdline", 404, 200},
	}
	for _, tt := range tests {
		if got := serve(t, pub, http.MethodGet, tt.path, "").Code; got != tt.public {
			t.Errorf("public GET %s: %d, want %d", tt.path, got, tt.public)
		}
		if got := serve(t, dbg, http.MethodGet, tt.path, "").Code; got != tt.debug {
			t.Errorf("debug GET %s: %d, want %d", tt.path, got, tt.debug)
		}
	}
	// The REST API is the public address's only.
	if got := serve(t, dbg, http.MethodPost, PathResult, `{"id":"x"}`).Code; got != http.StatusNotFound {
		t.Errorf("debug POST %s: %d, want 404 (not served)", PathResult, got)
	}
	if got := serve(t, pub, http.MethodPost, PathResult, `{"id":"x"}`).Code; got != http.StatusNotFound {
		t.Errorf("public POST %s of an unknown request: %d, want 404", PathResult, got)
	}
	// Where the original serves it: with --enable-metrics, /metrics is public too.
	d.PublicMetrics = true
	if got := serve(t, NewHandler(DefaultConfig(), d), http.MethodGet, PathMetrics, "").Code; got != http.StatusOK {
		t.Errorf("public GET %s with metrics enabled: %d, want 200", PathMetrics, got)
	}
}

func TestProbes_SayWhichCheckFails(t *testing.T) {
	var draining atomic.Bool
	d := Deps{Gatherer: prometheus.NewRegistry(),
		Live: func(context.Context) []Check { return []Check{{Name: "actors", OK: true}} },
		Ready: func(context.Context) []Check {
			return []Check{{Name: "host", OK: true}, {Name: "draining", OK: !draining.Load(), Detail: "shutting down"}}
		}}
	h := NewHandler(DefaultConfig(), d)
	for _, tt := range []struct {
		path     string
		draining bool
		code     int
		status   string
		failing  []string
	}{
		{PathLive, false, 200, "ok", nil},
		{PathReady, false, 200, "ok", nil},
		{PathReady, true, 503, "failing", []string{"draining"}},
		{PathLive, true, 200, "ok", nil},
	} {
		draining.Store(tt.draining)
		rec := serve(t, h, http.MethodGet, tt.path, "")
		var body Probe
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("GET %s: %v: %s", tt.path, err, rec.Body)
		}
		var failing []string
		for _, c := range body.Checks {
			if !c.OK {
				failing = append(failing, c.Name)
			}
		}
		if rec.Code != tt.code || body.Status != tt.status || strings.Join(failing, ",") != strings.Join(tt.failing, ",") {
			t.Errorf("GET %s (draining %v): %d %s, want %d %+v", tt.path, tt.draining, rec.Code, rec.Body, tt.code, tt.failing)
		}
	}
}

func TestDraining_NewWorkIs503WithRetryAfter(t *testing.T) {
	var draining atomic.Bool
	head := &fakeHead{
		execute: func(context.Context, messages.ExecutionRequest) (messages.ExecutionResponse, error) {
			return messages.ExecutionResponse{Code: messages.CodeOK}, nil
		},
		results: map[string]messages.ResultMap{"done": {}},
	}
	h := NewHandler(DefaultConfig(), Deps{Gatherer: prometheus.NewRegistry(), Head: head, Draining: draining.Load})
	exec := `{"function_id":"f","method":"m.wasm"}`
	if rec := serve(t, h, http.MethodPost, PathExecute, exec); rec.Code != http.StatusOK {
		t.Fatalf("before the drain: %d %s", rec.Code, rec.Body)
	}
	draining.Store(true)
	for path, body := range map[string]string{PathExecute: exec, PathInstall: `{"cid":"bafy"}`} {
		rec := serve(t, h, http.MethodPost, path, body)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != retryAfterSeconds ||
			!strings.Contains(rec.Body.String(), "shutting down") {
			t.Errorf("POST %s while draining: %d, Retry-After %q, %s", path, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
	if len(head.executed) != 1 {
		t.Errorf("the head ran %d requests, want only the one before the drain", len(head.executed))
	}
	// A finished request's results can still be fetched: that is not new work.
	if rec := serve(t, h, http.MethodPost, PathResult, `{"id":"done"}`); rec.Code != http.StatusOK {
		t.Errorf("result while draining: %d %s", rec.Code, rec.Body)
	}
}
