package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWithPprof_ServesProfilerAndPassesTheRestThrough(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := withPprof(next)
	for path, want := range map[string]int{"/debug/pprof/": http.StatusOK, "/api/v1/health": http.StatusTeapot} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
	}
}
