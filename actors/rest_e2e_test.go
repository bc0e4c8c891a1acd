package actors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon"
	"github.com/b7s-actor/b7s/messages"
)

func post(t testing.TB, d *daemon.Daemon, path string, body any) (int, []byte) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := body.(string); ok {
		raw = []byte(s)
	}
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Post("http://"+d.HTTPAddress()+path, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestREST_InstallThenExecuteHello(t *testing.T) {
	net := helloNetwork(t, 1, nil)
	status, body := post(t, net.Head, "/api/v1/functions/install", map[string]string{"cid": helloCID})
	if status != http.StatusOK || string(bytes.TrimSpace(body)) != `{"code":"200"}` {
		t.Fatalf("install: %d %s", status, body)
	}
	status, body = post(t, net.Head, "/api/v1/functions/execute", helloRequest(1))
	var resp messages.ExecutionResponse
	if err := json.Unmarshal(body, &resp); err != nil || status != http.StatusOK {
		t.Fatalf("execute: %d %s (%v)", status, body, err)
	}
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != helloStdout {
		t.Fatalf("execute response %s", body)
	}
	status, body = post(t, net.Head, "/api/v1/functions/requests/result", map[string]string{"id": resp.RequestID})
	var results messages.ResultMap
	if err := json.Unmarshal(body, &results); err != nil || status != http.StatusOK {
		t.Fatalf("result: %d %s (%v)", status, body, err)
	}
	if results[net.Workers[0].Host.ID()].Result.Stdout != helloStdout {
		t.Fatalf("result map %s", body)
	}
}

func TestREST_InvalidRequestsGet400WithAMessage(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{})
	for name, body := range map[string]string{
		"not json":       `{"function_id":`,
		"no function id": `{"method":"hello.wasm"}`,
		"no method":      `{"function_id":"bafy"}`,
	} {
		status, out := post(t, net.Head, "/api/v1/functions/execute", body)
		var e struct{ Message string }
		if status != http.StatusBadRequest || json.Unmarshal(out, &e) != nil || e.Message == "" {
			t.Errorf("%s: %d %s, want 400 with a message", name, status, out)
		}
	}
}

func TestREST_HundredConcurrentExecutionsThenNothingLeaks(t *testing.T) {
	net := helloNetwork(t, 2, nil)
	// Warm up: install on the workers and settle libp2p's own goroutines.
	for range 2 {
		if status, body := post(t, net.Head, "/api/v1/functions/execute", helloRequest(2)); status != http.StatusOK {
			t.Fatalf("warm-up: %d %s", status, body)
		}
	}
	baseline := runtime.NumGoroutine()

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := post(t, net.Head, "/api/v1/functions/execute", helloRequest(1))
			var resp messages.ExecutionResponse
			if status != http.StatusOK || json.Unmarshal(body, &resp) != nil || resp.Code != messages.CodeOK ||
				len(resp.Results) != 1 || resp.Results[0].Result.Stdout != helloStdout {
				errs <- string(body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("bad response: %s", e)
	}

	all := append([]*daemon.Daemon{net.Head}, net.Workers...)
	if !actortest.Eventually(20*time.Second, func() bool {
		for _, d := range all {
			for _, a := range d.Node.Inspect().Snapshot() {
				if a.Kind == "request" || a.Kind == "execution" {
					return false
				}
			}
		}
		return true
	}) {
		t.Fatal("request or execution actors left in the tree")
	}
	// libp2p keeps a few goroutines per connection and stream that wind down on their own time.
	const slack = 10
	if !actortest.Eventually(30*time.Second, func() bool { return runtime.NumGoroutine() <= baseline+slack }) {
		t.Fatalf("goroutines: %d after, %d before", runtime.NumGoroutine(), baseline)
	}
}

func TestREST_ClientDisconnectCancelsTheRequestSupervisor(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Configure: func(i int, c *config.Config) {
		c.Head.RollCallTimeout = time.Hour // only the cancellation can end this request
	}})
	ctx, cancel := context.WithCancel(context.Background())
	raw, _ := json.Marshal(helloRequest(1))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.Head.HTTPAddress()+"/api/v1/functions/execute", bytes.NewReader(raw))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	running := func() int {
		n := 0
		for _, a := range net.Head.Node.Inspect().Snapshot() {
			if a.Kind == "request" {
				n++
			}
		}
		return n
	}
	if !actortest.Eventually(10*time.Second, func() bool { return running() == 1 }) {
		t.Fatal("request supervisor never started")
	}
	cancel()
	<-done
	if !actortest.Eventually(10*time.Second, func() bool { return running() == 0 }) {
		t.Fatal("request supervisor still running after the client went away")
	}
}
