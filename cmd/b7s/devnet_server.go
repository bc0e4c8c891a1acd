package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"time"
)

// functionServer serves one function package the way a gateway would: the manifest at
// /<cid>/manifest.json and the archive next to it. It stands in for IPFS so that workers can
// install from the `--gateway` template without leaving 127.0.0.1.
type functionServer struct {
	srv         *http.Server
	base        string // http://127.0.0.1:<port>
	ManifestURL string
	ArchiveURL  string
}

// serveFunction starts the server on a free port of 127.0.0.1.
func serveFunction(p functionPackage) (*functionServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen function server: %w", err)
	}
	base := "http://" + ln.Addr().String()
	fs := &functionServer{
		base:        base,
		ManifestURL: base + "/" + p.CID.String() + "/manifest.json",
		ArchiveURL:  base + "/" + p.CID.String() + "/" + p.ArchiveName,
	}
	manifest, err := p.manifestJSON(fs.ArchiveURL)
	if err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	modTime := time.Unix(0, 0)
	mux.HandleFunc("GET /"+p.CID.String()+"/manifest.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		http.ServeContent(w, r, "manifest.json", modTime, bytes.NewReader(manifest))
	})
	mux.HandleFunc("GET /"+p.CID.String()+"/"+p.ArchiveName, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		http.ServeContent(w, r, p.ArchiveName, modTime, bytes.NewReader(p.Archive))
	})
	fs.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// Serve returns ErrServerClosed on Close; any other failure shows up as install errors in
	// the workers' logs, which is where someone debugging an install looks.
	go fs.srv.Serve(ln) //nolint:errcheck
	return fs, nil
}

// GatewayTemplate is the --gateway value for workers: the manifest URL with {cid} in place.
func (s *functionServer) GatewayTemplate() string { return s.base + "/{cid}/manifest.json" }

// Close stops the server.
func (s *functionServer) Close() error { return s.srv.Close() }
