package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/b7s-actor/b7s/api"
)

func TestProbe_ExitStatusFollowsTheNode(t *testing.T) {
	var draining atomic.Bool
	srv := httptest.NewServer(api.NewHandler(api.DefaultConfig(), api.Deps{Gatherer: prometheus.NewRegistry(),
		Ready: func(context.Context) []api.Check {
			return []api.Check{{Name: "draining", OK: !draining.Load(), Detail: "the node is shutting down"}}
		}}))
	defer srv.Close()
	for _, tt := range []struct {
		args     []string
		draining bool
		code     int
		out      string
	}{
		{[]string{"probe", "--api", srv.URL}, false, 0, "alive"},
		{[]string{"probe", "--api", srv.URL, "--ready"}, false, 0, "ready"},
		{[]string{"probe", "--api", srv.URL, "--ready"}, true, 1, "not ready (503); draining: the node is shutting down"},
		{[]string{"probe", "--api", srv.URL}, true, 0, "alive"},
		{[]string{"probe", "--api", "127.0.0.1:1"}, false, 1, "connection refused"},
	} {
		draining.Store(tt.draining)
		var out, errOut bytes.Buffer
		code := run(tt.args, &out, &errOut)
		if code != tt.code || !strings.Contains(out.String()+errOut.String(), tt.out) {
			t.Errorf("%v (draining %v): exit %d, %q %q; want %d and %q", tt.args, tt.draining, code, out.String(), errOut.String(), tt.code, tt.out)
		}
	}
}
