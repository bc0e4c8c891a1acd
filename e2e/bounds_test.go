package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/messages"
)

// Client input must not grow a node without bound: made-up function IDs add no metric series on
// a worker and cost one install attempt each, however often they are asked for.
func TestBounds_MadeUpFunctionIDsCostOneAttemptAndNoSeries(t *testing.T) {
	net := guestNetwork(t, 1, func(i int, c *config.Config) { c.Head.RollCallTimeout = 500 * time.Millisecond })
	worker := net.Workers[0]
	const ids = 20
	for range 2 { // the second round finds the first round's failures remembered
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() {
				req := messages.ExecutionRequest{FunctionID: fmt.Sprintf("bafkreimadeup%046d", i), Method: "x.wasm",
					Config: messages.Config{NumberOfNodes: 1}}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if resp, err := rest(net.Head).Execute(ctx, req); err != nil || resp.Code == messages.CodeOK {
					t.Errorf("made-up function: %+v %v", resp, err)
				}
			})
		}
		wg.Wait()
	}
	if n := worker.Metric(t, "b7s_fstore_functions_installed", nil); n != ids {
		t.Errorf("%v install attempts for %d made-up IDs asked twice each, want one each", n, ids)
	}
	body, err := rest(worker).Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.Contains(line, "madeup") {
			t.Fatalf("a made-up function ID has a series of its own: %s", line)
		}
	}
}
