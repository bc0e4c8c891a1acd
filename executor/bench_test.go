package executor

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
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
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"

	"github.com/b7s-actor/b7s/executor/fuel"
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

// benchWasmEnv names a .wasm for the hello benchmarks to measure instead of
// hello, e.g. the TinyGo hello.wasm of the Blockless examples. It must exit 0
// without arguments and print the same every run; a relative path is taken
// from the package directory, where go test runs.
const benchWasmEnv = "B7S_BENCH_WASM"

// benchModule is the module a hello benchmark measures and the stdout each
// execution must print ("" when only the warm-up run can tell).
func benchModule(b *testing.B) (path, stdout string) {
	b.Helper()
	p := os.Getenv(benchWasmEnv)
	if p == "" {
		return hello(b), helloOut
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		b.Fatalf("%s: %v", benchWasmEnv, err)
	}
	return abs, ""
}

var benchLogged sync.Map // benchmark name + module path

// logModule says which module a benchmark measured: once, not once per
// b.N round, and with its sha256 so that results can be compared.
func logModule(b *testing.B, path string) {
	b.Helper()
	if _, done := benchLogged.LoadOrStore(b.Name()+"\x00"+path, true); done {
		return
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		b.Fatalf("read measured module: %v", err)
	}
	b.Logf("module %s sha256 %x", path, sha256.Sum256(bin))
}

// warmUp runs mod once on e, so that it is compiled, and returns the stdout
// every later execution must print.
func warmUp(b *testing.B, e *Executor, mod, want string) string {
	b.Helper()
	res, err := e.Execute(context.Background(), request(mod))
	if err != nil {
		b.Fatalf("warm-up run of %s: %v (stderr %q)", mod, err, res.Stderr)
	}
	if want != "" && res.Stdout != want {
		b.Fatalf("warm-up run of %s: stdout %q, want %q", mod, res.Stdout, want)
	}
	return res.Stdout
}

// BenchmarkExecuteHelloWarm: the module (hello, or $B7S_BENCH_WASM) already
// compiled; each op is instantiate + run + capture, from GOMAXPROCS goroutines
// at once (-cpu 1,2). Reports the p50 and p99 latency of one execution and
// executions per second.
func BenchmarkExecuteHelloWarm(b *testing.B) {
	e := benchExecutor(b, DisableCompilationCache)
	mod, want := benchModule(b)
	logModule(b, mod)
	want = warmUp(b, e, mod, want)
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
			if err != nil || res.Stdout != want {
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
// a cache filled by an earlier executor (a restarted node). "hello" is the
// small module (hello, or $B7S_BENCH_WASM); "md5sum" is the guest, a Go
// program of a few MB, in its md5sum mode.
func BenchmarkExecuteColdFirst(b *testing.B) {
	modules := []struct {
		name   string
		module func(*testing.B) (path, stdout string)
		args   []string
		exit   int
	}{
		{"hello", benchModule, nil, 0},
		{"md5sum", func(b *testing.B) (string, string) { return guest(b), "" },
			[]string{"md5sum", "--file", "none"}, 1}, // exits 1 quickly: the cost is compiling
	}
	for _, m := range modules {
		for _, disk := range []bool{false, true} {
			name := m.name + "/nocache"
			if disk {
				name = m.name + "/diskcache"
			}
			b.Run(name, func(b *testing.B) {
				path, want := m.module(b)
				logModule(b, path)
				dir := DisableCompilationCache
				if disk {
					dir = filepath.Join(b.TempDir(), "cache")
					e := benchExecutor(b, dir) // fills the cache
					_, _ = e.Execute(context.Background(), request(path, m.args...))
					_ = e.Close(context.Background())
					b.ResetTimer() // filling the cache is a compilation, not what is measured
				}
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					e := benchExecutor(b, dir)
					b.StartTimer()
					res, err := e.Execute(context.Background(), request(path, m.args...))
					b.StopTimer()
					if res.ExitCode != m.exit || (want != "" && res.Stdout != want) {
						b.Fatalf("exit %d, stdout %q, err %v; want exit %d", res.ExitCode, res.Stdout, err, m.exit)
					}
					_ = e.Close(context.Background())
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkRSSOver10kExecutions reports how much resident memory grows over
// 10,000 warm executions of hello, or $B7S_BENCH_WASM (run with -benchtime=1x).
func BenchmarkRSSOver10kExecutions(b *testing.B) {
	e := benchExecutor(b, DisableCompilationCache)
	mod, want := benchModule(b)
	logModule(b, mod)
	want = warmUp(b, e, mod, want)
	run := func(n int) {
		for i := 0; i < n; i++ {
			res, err := e.Execute(context.Background(), request(mod))
			if err != nil || res.Stdout != want {
				b.Fatalf("stdout %q, err %v", res.Stdout, err)
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

// BenchmarkFuelOverhead: one warm execution, plain and instrumented with
// ample fuel, of compute-heavy guests (the Go compute guest hashing 4 MiB
// with crypto/md5, and the hand-assembled md5 of 256 KiB) and of hello.
// Compare the two ns/op of each guest.
func BenchmarkFuelOverhead(b *testing.B) {
	md5Bin, _ := md5Module(256 << 10)
	guests := []struct {
		name string
		path func(b *testing.B) string
		args []string
	}{
		{"go-md5-4MiB", func(b *testing.B) string { return computeGuest(b) }, []string{"md5", "4096"}},
		{"go-sum-20M", func(b *testing.B) string { return computeGuest(b) }, []string{"sum", "20000000"}},
		{"wasm-md5-256KiB", func(b *testing.B) string { return fixture(b, "bench-md5.wasm", writeBin(md5Bin)) }, nil},
		{"hello", func(b *testing.B) string { return hello(b) }, nil},
	}
	for _, g := range guests {
		for _, metered := range []bool{false, true} {
			name := g.name + "/plain"
			if metered {
				name = g.name + "/fuel"
			}
			b.Run(name, func(b *testing.B) {
				e := benchExecutor(b, cacheDir)
				path := g.path(b)
				req := func() Request {
					r := request(path, g.args...)
					if metered {
						r.Fuel = fuel.MaxFuel
					}
					return r
				}
				want, err := e.Execute(context.Background(), req()) // compiles
				if err != nil {
					b.Fatalf("warm-up: %+v, %v", want, err)
				}
				b.ResetTimer()
				for b.Loop() {
					res, err := e.Execute(context.Background(), req())
					if err != nil || res.Stdout != want.Stdout {
						b.Fatalf("%+v, %v", res, err)
					}
				}
				if metered {
					b.ReportMetric(float64(want.Usage.FuelConsumed), "fuel/op")
				}
			})
		}
	}
}

// BenchmarkFSQuotaWrite is the disk quota's cost on a write: 4 KiB appended to a file through
// the quota (an lseek for the offset and the accounting) and through the plain root wazero
// would mount without it. Every 16 MiB the file is truncated, so it stays in the page cache.
func BenchmarkFSQuotaWrite(b *testing.B) {
	const chunk, rewind = 4 << 10, 16 << 20
	for _, quota := range []bool{false, true} {
		name := "plain"
		if quota {
			name = "quota"
		}
		b.Run(name, func(b *testing.B) {
			r := newFSRoot(b.TempDir(), 1<<40)
			if errno := r.ensure(); errno != 0 {
				b.Fatal(errno)
			}
			open := r.fs.OpenFile
			if quota {
				open = r.OpenFile
			}
			f, errno := open("data", experimentalsys.O_RDWR|experimentalsys.O_CREAT, 0o600)
			if errno != 0 {
				b.Fatal(errno)
			}
			defer f.Close()
			buf := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if (i+1)%(rewind/chunk) == 0 {
					b.StopTimer()
					if errno := f.Truncate(0); errno != 0 {
						b.Fatal(errno)
					}
					if _, errno := f.Seek(0, io.SeekStart); errno != 0 {
						b.Fatal(errno)
					}
					b.StartTimer()
				}
				if n, errno := f.Write(buf); n != chunk || errno != 0 {
					b.Fatalf("write: %d %v", n, errno)
				}
			}
		})
	}
}

// nopFile takes every write and stores nothing; its offset is always 0.
type nopFile struct {
	experimentalsys.UnimplementedFile
}

func (nopFile) Write(b []byte) (int, experimentalsys.Errno)           { return len(b), 0 }
func (nopFile) Pwrite(b []byte, _ int64) (int, experimentalsys.Errno) { return len(b), 0 }

// BenchmarkFSQuotaAccounting is the quota's own work on a 4 KiB write that grows a file,
// without the write itself or the lseek a Write adds (a Pwrite at the end of the file).
func BenchmarkFSQuotaAccounting(b *testing.B) {
	q := newFSQuota(1 << 62)
	r := &quotaRecord{}
	f := &quotaFile{File: nopFile{}, q: q, r: r}
	buf := make([]byte, 4<<10)
	for i := 0; i < b.N; i++ {
		if n, errno := f.Pwrite(buf, r.size); n != len(buf) || errno != 0 {
			b.Fatal(errno)
		}
	}
}

// BenchmarkFuelCompile: the time to make a function runnable, plain and
// instrumented (read, instrument, compile, check imports), for the guest
// (a Go program of ~2.6 MB, md5sum-sized) and hello: cold (no compilation
// cache), from wazero's on-disk cache (a restarted node: instrument and
// load), and from the in-memory cache (a later execution).
func BenchmarkFuelCompile(b *testing.B) {
	for _, m := range []struct {
		name string
		path func(testing.TB) string
	}{{"guest-2.6MB", guest}, {"hello", hello}} {
		for _, metered := range []bool{false, true} {
			variant := m.name + "/plain"
			if metered {
				variant = m.name + "/fuel"
			}
			key := func(b *testing.B) moduleKey { return moduleKey{path: m.path(b), metered: metered} }
			b.Run(variant+"/cold", func(b *testing.B) {
				e := benchExecutor(b, DisableCompilationCache)
				k := key(b)
				for b.Loop() {
					code, err := e.compile(context.Background(), k)
					if err != nil {
						b.Fatal(err)
					}
					_ = code.mod.Close(context.Background())
				}
			})
			b.Run(variant+"/diskcache", func(b *testing.B) {
				dir := filepath.Join(b.TempDir(), "cache")
				k := key(b)
				fill := benchExecutor(b, dir)
				if _, err := fill.compile(context.Background(), k); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					b.StopTimer()
					e := benchExecutor(b, dir) // a fresh runtime: nothing compiled in memory
					b.StartTimer()
					code, err := e.compile(context.Background(), k)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					_ = code.mod.Close(context.Background())
					_ = e.Close(context.Background())
					b.StartTimer()
				}
			})
			b.Run(variant+"/memcache", func(b *testing.B) {
				e := benchExecutor(b, DisableCompilationCache)
				k := key(b)
				fn, err := e.modules.acquire(context.Background(), k)
				if err != nil {
					b.Fatal(err)
				}
				e.modules.release(fn)
				for b.Loop() {
					fn, err := e.modules.acquire(context.Background(), k)
					if err != nil {
						b.Fatal(err)
					}
					e.modules.release(fn)
				}
			})
		}
	}
}

// BenchmarkExecuteGuestWrites16MiB: the guest (a Go program) writes 16 MiB to a file in its
// root, 64 KiB at a time, under the default 64 MiB quota: a whole execution of a file-writing
// function, warm.
func BenchmarkExecuteGuestWrites16MiB(b *testing.B) {
	e := benchExecutor(b, cacheDir)
	g := guest(b)
	args := []string{"disk", "write", strconv.Itoa(16 << 20)}
	if _, err := e.Execute(context.Background(), request(g, args...)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(16 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := e.Execute(context.Background(), request(g, args...))
		if err != nil || res.Stdout != "ok" {
			b.Fatalf("%+v, %v", res, err)
		}
	}
}
