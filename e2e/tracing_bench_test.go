package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/fstore/funcpack"
	"github.com/b7s-actor/b7s/messages"
)

// BenchmarkTracing runs sequential requests through a head and a worker in this process with
// tracing off, as nodes run by default, and on with every span recorded in memory: the cost of
// making, propagating and ending the spans, without export. The function is examples/tiny (no
// language runtime, tens of microseconds), so the numbers are the node's, not a Go guest's.
func BenchmarkTracing(b *testing.B) {
	wasm := filepath.Join(b.TempDir(), "tiny.wasm")
	if out, err := exec.Command("go", "run", "../examples/tiny", "-o", wasm).CombinedOutput(); err != nil {
		b.Fatalf("build examples/tiny: %v\n%s", err, out)
	}
	tiny, err := funcpack.PackFile(wasm)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := funcpack.Serve(tiny)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	b.Logf("function: examples/tiny (archive sha256 %s)", tiny.Checksum)
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "recorder"
		}
		b.Run(name, func(b *testing.B) {
			rec := tracetest.NewSpanRecorder()
			cfg := daemontest.NetworkConfig{Workers: 1, Configure: func(_ int, c *config.Config) { c.FStore.Gateway = srv.GatewayTemplate() }}
			if on {
				cfg.SpanProcessors = []sdktrace.SpanProcessor{rec}
			}
			net := daemontest.NewNetwork(b, cfg)
			req := messages.ExecutionRequest{FunctionID: tiny.CID.String(), Method: tiny.Name, Config: messages.Config{NumberOfNodes: 1}}
			ctx := context.Background()
			if _, err := net.Head.Node.Execute(ctx, req); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				resp, err := net.Head.Node.Execute(ctx, req)
				if err != nil || resp.Code != messages.CodeOK {
					b.Fatalf("execute: %v %+v", err, resp)
				}
				lat = append(lat, time.Since(start))
				if i%1000 == 999 {
					rec.Reset() // spans held in memory; the node's cost is what is measured
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
