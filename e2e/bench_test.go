package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/messages"
)

// benchNetwork is a head and workers whose gateway serves the test function, built from
// testdata/guest. The benchmarks log which module they measure.
func benchNetwork(b *testing.B, workers int) *daemontest.Network {
	b.Logf("function: testdata/guest built for wasip1 (%s, archive sha256 %s)", guest.Name, guest.Checksum)
	return guestNetwork(b, workers, func(int, *config.Config) {})
}

// BenchmarkExecuteHelloInProcess runs the test function (printing its greeting) through a real head and worker on 127.0.0.1
// in one process: roll call, execute, gather. It is the in-process twin of `make bench-e2e`.
func BenchmarkExecuteHelloInProcess(b *testing.B) {
	net := benchNetwork(b, 1)
	req := guestRequest(1)
	ctx := context.Background()
	if _, err := net.Head.Node.Execute(ctx, req); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp, err := net.Head.Node.Execute(ctx, req)
		if err != nil || resp.Code != messages.CodeOK {
			b.Fatalf("execute: %v %+v", err, resp)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkExecuteHelloInProcessParallel is the throughput twin: 32 requests in flight.
func BenchmarkExecuteHelloInProcessParallel(b *testing.B) {
	net := benchNetwork(b, 2)
	req := guestRequest(1)
	ctx := context.Background()
	if _, err := net.Head.Node.Execute(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16) // × GOMAXPROCS (2) = 32 clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := net.Head.Node.Execute(ctx, req)
			if err != nil || resp.Code != messages.CodeOK {
				b.Errorf("execute: %v %+v", err, resp)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
