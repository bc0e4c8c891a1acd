package fstore

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Failures a retry cannot fix must not be retried: a certificate nobody trusts, a redirect loop.
func TestInstall_CertificateAndRedirectLoopArePermanent(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // its certificate is trusted by nobody here
	t.Cleanup(tlsSrv.Close)
	var loop *httptest.Server
	loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+r.URL.Path, http.StatusFound)
	}))
	t.Cleanup(loop.Close)
	e := newEnv(t, nil)
	for name, url := range map[string]string{
		"untrusted certificate": tlsSrv.URL + "/manifest.json",
		"redirect loop":         loop.URL + "/manifest.json",
	} {
		_, err := e.store.Install(ctxT(t), url, testCID)
		if err == nil || IsTransient(err) {
			t.Errorf("%s: err %v, transient %v; want a permanent error", name, err, IsTransient(err))
		}
	}
}
