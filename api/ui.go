package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"strconv"
)

// The live page of the tree: one HTML document with its style and script inlined, built from
// these files at start. Nothing is fetched but the node's own JSON endpoints, and the page's
// Content-Security-Policy allows exactly its own script and style (by hash) and nothing else.
//
//go:embed ui/actors.html ui/actors.css ui/actors.js
var uiFiles embed.FS

// actorsPage is the assembled page and the policy that lets only it run.
type actorsPage struct {
	body []byte
	csp  string
}

func newActorsPage() actorsPage {
	read := func(name string) []byte {
		b, err := uiFiles.ReadFile(name)
		if err != nil {
			panic(err) // embedded at build time; missing is a build mistake
		}
		return b
	}
	html, style, script := read("ui/actors.html"), read("ui/actors.css"), read("ui/actors.js")
	body := bytes.Replace(html, []byte("{{STYLE}}"), style, 1)
	body = bytes.Replace(body, []byte("{{SCRIPT}}"), script, 1)
	return actorsPage{
		body: body,
		csp: "default-src 'none'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; " +
			"script-src '" + hash(script) + "'; style-src '" + hash(style) + "'",
	}
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

func (p actorsPage) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(p.body)))
	_, _ = w.Write(p.body)
}
