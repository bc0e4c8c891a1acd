package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/attest"
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
}

// NewHandler returns the node's HTTP handler, with cfg's limits.
func NewHandler(cfg Config, d Deps) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes(cfg, d) {
		mux.Handle(rt.method+" "+rt.path, rt.handler)
	}
	return mux
}

// route is one method and path the node serves.
type route struct {
	method  string
	path    string
	handler http.Handler
}

// routes is the one table of what the node serves. The mux is built from it and the OpenAPI test
// checks it against openapi.yaml, so nothing is served undocumented or documented but not served.
// The function paths are mounted on workers too, where they answer 404 with a reason.
func routes(cfg Config, d Deps) []route {
	fn := functionsAPI{head: d.Head, cfg: cfg, log: d.Log}
	return []route{
		{http.MethodGet, PathHealth, http.HandlerFunc(handleHealth)},
		{http.MethodPost, PathExecute, fn.headOnly(fn.handleExecute)},
		{http.MethodPost, PathInstall, fn.headOnly(fn.handleInstall)},
		{http.MethodPost, PathResult, fn.headOnly(fn.handleResult)},
		{http.MethodGet, PathMetrics, promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{ErrorLog: nil})},
		{http.MethodGet, PathActors, http.HandlerFunc(d.handleActors)},
		{http.MethodGet, PathActorsUI, newActorsPage()},
		{http.MethodGet, PathActorMessages, http.HandlerFunc(d.handleActorMessages)},
		{http.MethodGet, PathTrace, http.HandlerFunc(d.handleTrace)},
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
