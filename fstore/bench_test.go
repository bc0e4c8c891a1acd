package fstore

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkInstallLocal installs hello.tar.gz from a local server under b.N distinct CIDs:
// manifest fetch, download, sha256, unpack, rename and a bbolt write each time.
func BenchmarkInstallLocal(b *testing.B) {
	o := newOrigin(b)
	manifestURL := o.function("hello", helloTarGz)
	e := newEnv(b, nil)
	ctx := ctxT(b)
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := e.store.Install(ctx, manifestURL, fmt.Sprintf("bafybench%08d", i)); err != nil {
			b.Fatalf("Install: %v", err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
}
