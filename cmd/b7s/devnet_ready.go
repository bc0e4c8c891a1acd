package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// readyPollInterval is the gap between two probes of a node that does not answer yet.
const readyPollInterval = 200 * time.Millisecond

// waitReady polls every node until it answers: the head's /api/v1/health, each worker's
// /metrics. It gives up after timeout or when ctx ends (Ctrl-C, a node died).
func waitReady(ctx context.Context, timeout time.Duration, nodes []devnetNode) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		path := "/metrics"
		if n.Role == "head" {
			path = "/api/v1/health"
		}
		wg.Go(func() { errs[i] = pollOK(ctx, client, "http://"+n.HTTP+path) })
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

// pollOK GETs url until it answers 200 or ctx ends; the error is the last failure seen.
func pollOK(ctx context.Context, client *http.Client, url string) error {
	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	var last error
	for {
		last = getOK(ctx, client, url)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return last
		case <-ticker.C:
		}
	}
}

func getOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// installFunction asks the head to publish the install message and returns a line saying how
// it went. A failure is not fatal: workers also install on their first roll call for the CID,
// through their --gateway.
func installFunction(ctx context.Context, restAPI, cid, manifestURL string) string {
	body, _ := json.Marshal(map[string]string{"cid": cid, "uri": manifestURL})
	url := "http://" + restAPI + "/api/v1/functions/install"
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "install request: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Sprintf("install not confirmed (%v); workers install on the first roll call instead", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	text := strings.TrimSpace(string(answer))
	var reply struct {
		Code string `json:"code"`
	}
	if resp.StatusCode == http.StatusOK && json.Unmarshal(answer, &reply) == nil && reply.Code == "200" {
		return "install published to the workers (POST /api/v1/functions/install: " + text + ")"
	}
	return fmt.Sprintf("install not confirmed (POST /api/v1/functions/install: %s %s); workers install on the first roll call instead", resp.Status, text)
}
