package executor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// benchExecutor is an executor for benchmarks: no test logger, its own
// workspace.
func benchExecutor(b *testing.B, cacheDir string) *Executor {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Workspace = b.TempDir()
	cfg.CompilationCacheDir = cacheDir
	cfg.Logger = zerolog.Nop()
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// BenchmarkExecuteHelloWarm: hello.wasm already compiled; each op is
// instantiate + run + capture, from GOMAXPROCS goroutines at once (-cpu 1,2).
// Reports the p50 and p99 latency of one execution and executions per second.
func BenchmarkExecuteHelloWarm(b *testing.B) {
	e := benchExecutor(b, DisableCompilationCache)
	mod := hello(b)
	if _, err := e.Execute(context.Background(), request(mod)); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var all []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		lat := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			res, err := e.Execute(context.Background(), request(mod))
			lat = append(lat, time.Since(t0))
			if err != nil || len(res.Stdout) != 80 {
				b.Errorf("stdout %q, err %v", res.Stdout, err)
				return
			}
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "exec/s")
	}
}

// BenchmarkExecuteColdFirst: the first execution of a function on a fresh
// executor (compile + instantiate + run), without the on-disk cache and with
// a cache filled by an earlier executor (a restarted node).
func BenchmarkExecuteColdFirst(b *testing.B) {
	modules := []struct {
		name string
		path func(testing.TB) string
		args []string
	}{
		{"hello", hello, nil},
		{"md5sum", md5sum, []string{"--file", "none"}}, // exits 1 quickly: the cost is compiling
	}
	for _, m := range modules {
		for _, disk := range []bool{false, true} {
			name := m.name + "/nocache"
			if disk {
				name = m.name + "/diskcache"
			}
			b.Run(name, func(b *testing.B) {
				path := m.path(b)
				dir := DisableCompilationCache
				if disk {
					dir = filepath.Join(b.TempDir(), "cache")
					e := benchExecutor(b, dir) // fills the cache
					_, _ = e.Execute(context.Background(), request(path, m.args...))
					_ = e.Close(context.Background())
				}
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					e := benchExecutor(b, dir)
					b.StartTimer()
					res, _ := e.Execute(context.Background(), request(path, m.args...))
					b.StopTimer()
					if m.name == "hello" && res.Stdout != helloOut {
						b.Fatalf("stdout %q", res.Stdout)
					}
					_ = e.Close(context.Background())
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkRSSOver10kExecutions reports how much resident memory grows over
// 10,000 warm executions of hello.wasm (run with -benchtime=1x).
func BenchmarkRSSOver10kExecutions(b *testing.B) {
	e := benchExecutor(b, DisableCompilationCache)
	mod := hello(b)
	run := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := e.Execute(context.Background(), request(mod)); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := 0; i < b.N; i++ {
		run(1000) // warm up: compile, pools, first GC cycles
		runtime.GC()
		debug.FreeOSMemory()
		before := rssKB(b)
		run(10000)
		mid := rssKB(b)
		run(10000)
		runtime.GC()
		debug.FreeOSMemory()
		after := rssKB(b)
		b.ReportMetric(float64(mid-before), "rss-growth-KiB-10k")
		b.ReportMetric(float64(after-mid), "rss-growth-KiB-next10k")
		b.ReportMetric(float64(after), "rss-KiB")
	}
}

func rssKB(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal(fmt.Errorf("no VmRSS"))
	return 0
}
