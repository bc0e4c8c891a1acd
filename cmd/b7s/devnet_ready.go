package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/messages"
)

const (
	// readyPollInterval is the gap between two probes of a node that does not answer yet.
	readyPollInterval = 200 * time.Millisecond
	// readyProbeTimeout bounds one probe: a node that accepts the connection but hangs is
	// probed again rather than waited on.
	readyProbeTimeout = 2 * time.Second
	// installTimeout bounds the devnet's install call; the head answers within its own 10 s.
	installTimeout = 15 * time.Second
)

// waitReady polls every node's /api/v1/health (every node with an HTTP address serves it,
// workers included) until it answers. It gives up after timeout or when ctx ends (Ctrl-C, a
// node died).
func waitReady(ctx context.Context, timeout time.Duration, nodes []devnetNode) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		c := client.New(n.HTTP, client.WithTimeout(readyProbeTimeout))
		wg.Go(func() { errs[i] = pollHealth(ctx, c, readyPollInterval) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && cause != context.DeadlineExceeded {
				return fmt.Errorf("waiting for %s: %w", nodes[i].Name, cause)
			}
			return fmt.Errorf("%s did not answer within %v: %w (see %s)", nodes[i].Name, timeout, err, nodes[i].LogPath)
		}
	}
	return nil
}

// pollHealth asks c for its health until it answers or ctx ends. The error is the last failure
// the node itself gave: a probe cut short by ctx says only that time ran out.
func pollHealth(ctx context.Context, c *client.Client, interval time.Duration) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last error
	for {
		err := c.Health(ctx)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return last
		case <-ticker.C:
		}
	}
}

// installFunction asks the head to publish the install message and returns a line saying how
// it went. A failure is not fatal: workers also install on their first roll call for the CID,
// through their --gateway.
func installFunction(ctx context.Context, restAPI, cid, manifestURL string) string {
	c := client.New(restAPI, client.WithTimeout(installTimeout))
	resp, err := c.Install(ctx, messages.InstallFunctionRequest{CID: cid, URI: manifestURL})
	switch {
	case err != nil:
		return fmt.Sprintf("install not confirmed (%v); workers install on the first roll call instead", err)
	case resp.Code != messages.CodeOK:
		return fmt.Sprintf("install not confirmed (POST %s: code %s); workers install on the first roll call instead", api.PathInstall, resp.Code)
	}
	return fmt.Sprintf("install published to the workers (POST %s: code %s)", api.PathInstall, resp.Code)
}
