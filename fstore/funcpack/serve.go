package funcpack

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Handler serves functions as a gateway does: the manifest of each at /<cid>/manifest.json and
// its archive at /<cid>/<archive name>. The manifest points at the archive on the host the
// request was sent to, so one handler works on any address. It counts what it serves.
type Handler struct {
	byCID     map[string]Function
	manifests atomic.Int64
	archives  atomic.Int64
}

// NewHandler serves fns.
func NewHandler(fns ...Function) *Handler {
	h := &Handler{byCID: make(map[string]Function, len(fns))}
	for _, f := range fns {
		h.byCID[f.CID.String()] = f
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	id, file, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f, found := h.byCID[id]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	modTime := time.Unix(0, 0)
	switch file {
	case "manifest.json":
		h.manifests.Add(1)
		manifest, err := f.ManifestJSON("http://" + r.Host + "/" + id + "/" + f.ArchiveName)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(w, r, "manifest.json", modTime, bytes.NewReader(manifest))
	case f.ArchiveName:
		h.archives.Add(1)
		w.Header().Set("Content-Type", "application/gzip")
		http.ServeContent(w, r, f.ArchiveName, modTime, bytes.NewReader(f.Archive))
	default:
		http.NotFound(w, r)
	}
}

// Manifests is the number of manifest requests served.
func (h *Handler) Manifests() int64 { return h.manifests.Load() }

// Archives is the number of archive requests served.
func (h *Handler) Archives() int64 { return h.archives.Load() }

// Server is a Handler listening on a free port of 127.0.0.1.
type Server struct {
	*Handler
	srv  *http.Server
	base string // http://127.0.0.1:<port>
}

// Serve starts a server for fns on 127.0.0.1.
func Serve(fns ...Function) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen function server: %w", err)
	}
	s := &Server{Handler: NewHandler(fns...), base: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second}
	// Serve returns ErrServerClosed on Close; any other failure shows up as install errors in
	// the workers' logs, which is where someone debugging an install looks.
	go s.srv.Serve(ln) //nolint:errcheck
	return s, nil
}

// GatewayTemplate is the manifest URL template (a worker's --gateway): {cid} for the CID.
func (s *Server) GatewayTemplate() string { return s.base + "/{cid}/manifest.json" }

// ManifestURL is where f's manifest is served.
func (s *Server) ManifestURL(f Function) string {
	return s.base + "/" + f.CID.String() + "/manifest.json"
}

// ArchiveURL is where f's archive is served.
func (s *Server) ArchiveURL(f Function) string {
	return s.base + "/" + f.CID.String() + "/" + f.ArchiveName
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }
