package p2p

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// BenchmarkDirectRoundTrip: A sends to B, B's handler sends the bytes back,
// A's handler completes the round trip. One new stream each way, as b7s does.
func BenchmarkDirectRoundTrip(b *testing.B) {
	a := newTestHost(b, nil, nil, testConfig(b))
	echo := newTestHost(b, nil, nil, testConfig(b))
	a.AddAddrs(addrInfo(echo), peerstore.TempAddrTTL)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	echo.SetDirectHandler(func(from peer.ID, data []byte) {
		if err := echo.Send(ctx, from, data); err != nil {
			b.Errorf("echo: %v", err)
		}
	}, nil)
	back := make(chan struct{}, 1)
	a.SetDirectHandler(func(peer.ID, []byte) { back <- struct{}{} }, nil)

	payload := []byte(`{"type":"MsgExecute","request_id":"5c4b3a29-2d1e-4f0a-9b8c-7d6e5f4a3b2c","function_id":"bafybeia24v4czavtpjv2co3j54o4a5ztduqcpyyinerjgncx7s2s22s7ea","method":"hello-world.wasm"}`)
	roundTrip := func() time.Duration {
		start := time.Now()
		if err := a.Send(ctx, echo.ID(), payload); err != nil {
			b.Fatal(err)
		}
		select {
		case <-back:
		case <-ctx.Done():
			b.Fatal("no echo")
		}
		return time.Since(start)
	}
	roundTrip() // dial and identify outside the measurement

	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		durations = append(durations, roundTrip())
	}
	b.StopTimer()

	slices.Sort(durations)
	pct := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
