package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
)

// Deps are what the handlers read from.
type Deps struct {
	Inspect  *inspect.Registry
	Gatherer prometheus.Gatherer
	// Head runs the function paths of spec §9. It is nil on workers, which answer them with 404.
	Head   Head
	NodeID string
	Role   string
	Log    zerolog.Logger
	// Attestation describes a worker's attestation in use (nil result: none); nil on heads.
	Attestation func() *attest.Info
	// RecentMessages is the length of each actor's ring (0: none kept), for the page to say so.
	RecentMessages int
	// Peers asks other nodes for their part of a request's path; nil asks no one.
	Peers PeerTracer
	// PublicMetrics serves /metrics on the public address too, where the original serves it
	// (--enable-metrics); the debug address always serves it.
	PublicMetrics bool
	// Live and Ready are the checks of /livez and /readyz; nil passes.
	Live, Ready func(context.Context) []Check
	// Draining reports that the node is shutting down: new execute and install requests are
	// answered 503 with a Retry-After. Nil never drains.
	Draining func() bool
	// Tracing continues a REST client's W3C trace context (traceparent headers); nil is off.
	Tracing *tracing.Provider
}

// NewHandler returns the handler of the node's public HTTP address, with cfg's limits: the b7s
// REST API (spec §9), health, liveness and readiness, and /metrics when PublicMetrics is set.
// Nothing on it names a request the caller did not make.
func NewHandler(cfg Config, d Deps) http.Handler {
	return newHandler(cfg, d, public)
}

// NewDebugHandler returns the handler of the node's debug address, for the operator: the actor
// tree and its pages, request paths, /metrics, health, and Go's profiler at /debug/pprof/.
// Its pages list live request IDs, whose results the public API returns to whoever asks, so
// it must not be reachable by the public.
func NewDebugHandler(cfg Config, d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", newHandler(cfg, d, debug))
	return mux
}

// newHandler serves the routes of one surface.
func newHandler(cfg Config, d Deps, on surface) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes(cfg, d) {
		if rt.on&on != 0 {
			mux.Handle(rt.method+" "+rt.path, rt.handler)
		}
	}
	return mux
}

// surface is an address a route is served on.
type surface uint8

const (
	public surface = 1 << iota // --rest-api (or a worker's --prometheus-address)
	debug                      // --debug-address
)

// route is one method and path the node serves, and where.
type route struct {
	method  string
	path    string
	handler http.Handler
	on      surface
}

// routes is the one table of what the node serves. The muxes are built from it and the OpenAPI
// test checks it against openapi.yaml, so nothing is served undocumented or documented but not
// served. The function paths are mounted on workers too, where they answer 404 with a reason.
func routes(cfg Config, d Deps) []route {
	fn := functionsAPI{head: d.Head, cfg: cfg, log: d.Log, draining: d.Draining, tracing: d.Tracing}
	metricsOn := debug
	if d.PublicMetrics {
		metricsOn |= public
	}
	return []route{
		{http.MethodGet, PathHealth, http.HandlerFunc(handleHealth), public | debug},
		{http.MethodGet, PathLive, probe(d.Live), public | debug},
		{http.MethodGet, PathReady, probe(d.Ready), public | debug},
		{http.MethodPost, PathExecute, fn.headOnly(fn.refuseDraining(fn.handleExecute)), public},
		{http.MethodPost, PathInstall, fn.headOnly(fn.refuseDraining(fn.handleInstall)), public},
		{http.MethodPost, PathResult, fn.headOnly(fn.handleResult), public},
		{http.MethodGet, PathMetrics, promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{ErrorLog: nil}), metricsOn},
		{http.MethodGet, PathActors, http.HandlerFunc(d.handleActors), debug},
		{http.MethodGet, PathActorsUI, newActorsPage(), debug},
		{http.MethodGet, PathActorMessages, http.HandlerFunc(d.handleActorMessages), debug},
		{http.MethodGet, PathTrace, http.HandlerFunc(d.handleTrace), debug},
	}
}

func handleHealth(w http.ResponseWriter, _ *http.Request) {
	body, err := messages.Encode(messages.NewHealthCheck())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// ActorTree is the JSON body of GET /debug/actors.
type ActorTree struct {
	Node   string               `json:"node"`
	Role   string               `json:"role"`
	Time   time.Time            `json:"time"`
	Actors []*inspect.ActorInfo `json:"actors"`
	// Attestation is a worker's attestation in use: what roll calls with attributes are
	// matched against. Absent when none is loaded.
	Attestation *attest.Info `json:"attestation,omitempty"`
}

func (d Deps) handleActors(w http.ResponseWriter, r *http.Request) {
	now := time.Now().UTC()
	tree := d.Inspect.Tree()
	var att *attest.Info
	if d.Attestation != nil {
		att = d.Attestation()
	}
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if inspect.WriteText(w, tree, now) == nil && att != nil {
			_ = writeAttestationText(w, att)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ") // read by people as often as by programs
	_ = enc.Encode(ActorTree{Node: d.NodeID, Role: d.Role, Time: now, Actors: tree, Attestation: att})
}

// writeAttestationText is the attestation under the text tree: its attributes, signer and
// attestors, where it came from, and the last reload's error if any.
func writeAttestationText(w io.Writer, a *attest.Info) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nattestation from %s (sha256 %s, loaded %s)\n", a.Source, a.SHA256, a.LoadedAt.UTC().Format(time.RFC3339))
	for _, attr := range a.Attributes {
		fmt.Fprintf(&b, "  %s\n", attr)
	}
	signer := "unsigned"
	if a.Signer != "" {
		signer = a.Signer.String()
	}
	fmt.Fprintf(&b, "  signed by %s\n", signer)
	for _, id := range a.Attestors {
		fmt.Fprintf(&b, "  attested by %s\n", id)
	}
	if a.LastError != "" {
		fmt.Fprintf(&b, "  last reload failed: %s\n", a.LastError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// errorBody is the shape of every handler error (spec §9).
type errorBody struct {
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
