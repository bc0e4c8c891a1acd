package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/messages"
)

func TestREST_InstallThenExecuteThenLookUp(t *testing.T) {
	net := guestNetwork(t, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := rest(net.Head)
	installed, err := c.Install(ctx, messages.InstallFunctionRequest{CID: guest.CID.String()})
	if err != nil || installed.Code != messages.CodeOK {
		t.Fatalf("install: %+v %v", installed, err)
	}
	resp, err := c.Execute(ctx, guestRequest(1))
	if err != nil || resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting {
		t.Fatalf("execute: %+v %v", resp, err)
	}
	results, err := c.Result(ctx, resp.RequestID)
	if err != nil || results[net.Workers[0].Host.ID()].Result.Stdout != greeting {
		t.Fatalf("result map %+v %v", results, err)
	}
}

func TestREST_InvalidRequestsGet400WithAMessage(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Configure: func(_ int, c *config.Config) {
		c.Head.MaxRequestTimeout = 30 * time.Second
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, tc := range map[string]struct{ body, message string }{
		"not json":       {`{"function_id":`, "invalid JSON"},
		"no function id": {`{"method":"hello.wasm"}`, "function_id is empty"},
		"no method":      {`{"function_id":"bafy"}`, "method is empty"},
		// Refused at the door instead of waiting out the roll call for a "204".
		"unknown consensus": {`{"function_id":"bafy","method":"m","config":{"consensus_algorithm":"paxos"}}`,
			`want one of "", "raft", "pbft"`},
		"timeout over the head's setting": {`{"function_id":"bafy","method":"m","config":{"timeout":31}}`,
			"config.timeout: 31 s is above the maximum 30 s"},
		"too deep": {`{"function_id":"bafy","method":"m","x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`,
			"JSON nests deeper than the limit"},
	} {
		status, out, err := rest(net.Head).PostRaw(ctx, api.PathExecute, []byte(tc.body))
		var e struct{ Message string }
		if err != nil || status != http.StatusBadRequest || json.Unmarshal(out, &e) != nil || !strings.Contains(e.Message, tc.message) {
			t.Errorf("%s: %d %s %v, want 400 with a message saying %q", name, status, out, err, tc.message)
		}
	}
	status, out, err := rest(net.Head).PostRaw(ctx, api.PathExecute, []byte(`{"function_id":"`+strings.Repeat("a", api.MaxBodyBytes)+`"}`))
	if err != nil || status != http.StatusRequestEntityTooLarge || !strings.Contains(string(out), "limit of 1048576 bytes") {
		t.Errorf("large body: %d %.200s %v, want 413 naming the limit", status, out, err)
	}
}

func TestREST_HundredConcurrentExecutionsThenNothingLeaks(t *testing.T) {
	net := guestNetwork(t, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := rest(net.Head)
	// Warm up: install on the workers and settle libp2p's own goroutines.
	for range 2 {
		if resp, err := c.Execute(ctx, guestRequest(2)); err != nil || resp.Code != messages.CodeOK {
			t.Fatalf("warm-up: %+v %v", resp, err)
		}
	}
	baseline := runtime.NumGoroutine()

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Go(func() {
			resp, err := c.Execute(ctx, guestRequest(1))
			if err != nil || resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting {
				errs <- fmtResponse(resp, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("bad response: %s", e)
	}

	all := append([]*daemontest.Node{net.Head}, net.Workers...)
	if !actortest.Eventually(20*time.Second, func() bool {
		for _, d := range all {
			for _, a := range d.Node.Inspect().Snapshot() {
				if a.Parent == "node/requests" || a.Parent == "node/work" {
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

func fmtResponse(resp messages.ExecutionResponse, err error) string {
	if err != nil {
		return err.Error()
	}
	b, _ := json.Marshal(resp)
	return string(b)
}

func TestREST_ClientDisconnectCancelsTheRequestSupervisor(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Configure: func(i int, c *config.Config) {
		c.Head.RollCallTimeout = time.Hour // only the cancellation can end this request
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := rest(net.Head).Execute(ctx, guestRequest(1))
		done <- err
	}()
	if !actortest.Eventually(10*time.Second, func() bool { return len(requestActors(net.Head)) == 1 }) {
		t.Fatal("request supervisor never started")
	}
	cancel()
	<-done
	if !actortest.Eventually(10*time.Second, func() bool { return len(requestActors(net.Head)) == 0 }) {
		t.Fatal("request supervisor still running after the client went away")
	}
}
