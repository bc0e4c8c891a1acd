package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/b7s-actor/b7s/api/client"
)

// probeTimeout bounds `b7s probe`; a container's health check gives it a few seconds.
const probeTimeout = 3 * time.Second

// runProbe is `b7s probe`: a node's /livez (or /readyz) as an exit status, for health checks
// where no curl exists (the container image has only the binary).
func runProbe(args []string, stdout io.Writer) error {
	fs := commandFlags("probe", "[--api ADDR] [--ready]",
		"Ask a node whether it is alive (/livez) or ready (/readyz, with --ready); exit 0 when it\n"+
			"answers 200, 1 otherwise, printing the failing checks.", stdout)
	apiURL := fs.String("api", "http://127.0.0.1:6060", "any of the node's HTTP addresses (host:port or URL)")
	ready := fs.Bool("ready", false, "ask /readyz instead of /livez")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	c := client.New(*apiURL, client.WithTimeout(probeTimeout))
	probe, what := c.Live, "alive"
	if *ready {
		probe, what = c.Ready, "ready"
	}
	p, status, err := probe(ctx)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		failing := ""
		for _, ch := range p.Checks {
			if !ch.OK {
				failing += fmt.Sprintf("; %s: %s", ch.Name, ch.Detail)
			}
		}
		return fmt.Errorf("not %s (%d)%s", what, status, failing)
	}
	fmt.Fprintln(stdout, what)
	return nil
}
