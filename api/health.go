package api

import (
	"context"
	"net/http"
	"time"
)

// Check is one condition of /livez or /readyz.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Detail says what failed, or what passed when that is worth knowing.
	Detail string `json:"detail,omitempty"`
}

// Probe is the JSON body of /livez and /readyz: 200 when every check passes, 503 otherwise,
// with the checks either way so an operator sees which one fails.
type Probe struct {
	Status string  `json:"status"` // "ok" or "failing"
	Checks []Check `json:"checks"`
}

// probeTimeout bounds the checks of one probe; an orchestrator's own timeout is a second or more.
const probeTimeout = 900 * time.Millisecond

func probe(checks func(context.Context) []Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := Probe{Status: "ok", Checks: []Check{}}
		if checks != nil {
			ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
			out.Checks = append(out.Checks, checks(ctx)...)
			cancel()
		}
		status := http.StatusOK
		for _, c := range out.Checks {
			if !c.OK {
				out.Status, status = "failing", http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, out)
	})
}
