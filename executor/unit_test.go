package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/tetratelabs/wazero/sys"
)

func TestExitCodeOf_MapsTrapsExitsAndTimeouts(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{sys.NewExitError(0), 0},
		{sys.NewExitError(7), 7},
		{sys.NewExitError(126), 255},
		{sys.NewExitError(sys.ExitCodeDeadlineExceeded), 15},
		{sys.NewExitError(sys.ExitCodeContextCanceled), 12},
		{fmt.Errorf("wrapped: %w", sys.NewExitError(4)), 4},
		{errors.New("wasm error: unreachable\nwasm stack trace:\n\tf()"), 11},
		{errors.New("wasm error: integer divide by zero\n"), 9},
		{errors.New("wasm error: integer overflow"), 8},
		{errors.New("wasm error: invalid conversion to integer"), 10},
		{errors.New("wasm error: out of bounds memory access"), 3},
		{errors.New("wasm error: invalid table access"), 5},
		{errors.New("wasm error: indirect call type mismatch"), 7},
		{errors.New("wasm error: stack overflow"), 2},
		{errors.New("stack overflow"), 2}, // wazero's own wording for a call stack past its bound
		{errors.New("something else"), 255},
	} {
		if got := exitCodeOf(tc.err); got != tc.want {
			t.Errorf("exitCodeOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestEnvVarJSON_IsTheReferenceFormat(t *testing.T) {
	for _, tc := range []struct {
		env  []EnvVar
		want string
	}{
		{nil, `{"": ""}`},
		{[]EnvVar{{"BLS_REQUEST_PATH", "/api"}, {"FOO", "bar"}}, `{"BLS_REQUEST_PATH": "/api","FOO": "bar"}`},
		{[]EnvVar{{"A", "1"}, {"A", "2"}}, `{"A": "2","A": "2"}`},
		{[]EnvVar{{"Q", `say "hi"`}}, `{"Q": "say "hi""}`}, // not escaped, as the reference
	} {
		if got := string(envVarJSON(tc.env)); got != tc.want {
			t.Errorf("envVarJSON(%v) = %s, want %s", tc.env, got, tc.want)
		}
	}
}

func TestConfigValidate_NamesTheBrokenBound(t *testing.T) {
	ok := DefaultConfig()
	ok.Workspace = "/tmp/ws"
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for want, edit := range map[string]func(*Config){
		"Workspace: must be set":                              func(c *Config) { c.Workspace = "" },
		`Workspace: "rel" is not an absolute path`:            func(c *Config) { c.Workspace = "rel" },
		"MaxCompiledModules: 0 is below the minimum 1":        func(c *Config) { c.MaxCompiledModules = 0 },
		"MaxOutputBytes: 0 is below the minimum 1":            func(c *Config) { c.MaxOutputBytes = 0 },
		"DefaultMemoryLimitPages: 70000 is above the maximum": func(c *Config) { c.DefaultMemoryLimitPages = 70000 },
		"MaxRunTime: 0s is below the minimum 1ms":             func(c *Config) { c.MaxRunTime = 0 },
		"HTTP.MaxSessions: 0 is below the minimum 1":          func(c *Config) { c.HTTP.MaxSessions = 0 },
		"HTTP.MaxBodyBytes: 0 is below the minimum 1":         func(c *Config) { c.HTTP.MaxBodyBytes = 0 },
		"HTTP.RequestTimeout: -1s is below the minimum 1ms":   func(c *Config) { c.HTTP.RequestTimeout = -time.Second },
		"MaxFSBytes: -1 is below the minimum 0":               func(c *Config) { c.MaxFSBytes = -1 },
		"MemoryBudget: -1 is below the minimum 0":             func(c *Config) { c.MemoryBudget = -1 },
		"MemoryBudget: 1000 is below one execution's DefaultMemoryLimitPages (268435456 bytes)": func(c *Config) {
			c.MemoryBudget = 1000
		},
		"FSBudget: 1000 is below one execution's MaxFSBytes (67108864 bytes)": func(c *Config) { c.FSBudget = 1000 },
	} {
		c := ok
		edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Validate() = %v", want, err)
		}
	}
}

// A budget that is set is used as is; one left 0 is derived from the machine and holds at
// least one execution. An execution reserves its memory limit and the disk quota.
func TestBudget_SetOrDerivedAndWhatAnExecutionReserves(t *testing.T) {
	e := newExecutor(t, func(c *Config) {
		c.MaxFSBytes = 8 << 20
		c.MemoryBudget = 1 << 30
		c.FSBudget = 100 << 20
	})
	if got, want := e.Budget(), (Reservation{Memory: 1 << 30, Disk: 100 << 20}); got != want {
		t.Fatalf("budget %+v, want %+v", got, want)
	}
	if got, want := e.Reservation(Request{}), (Reservation{Memory: 256 << 20, Disk: 8 << 20}); got != want {
		t.Fatalf("default reservation %+v, want %+v", got, want)
	}
	if got := e.Reservation(Request{MemoryLimitPages: 16}); got.Memory != 1<<20 {
		t.Fatalf("limited_memory 16 pages reserves %d bytes", got.Memory)
	}
	if got := e.Reservation(Request{MemoryLimitPages: 1 << 20}); got.Memory != 4<<30 {
		t.Fatalf("a limit past wasm32 reserves %d bytes, want 4 GiB", got.Memory)
	}
	derived := newExecutor(t, nil)
	one := derived.Reservation(Request{})
	if b := derived.Budget(); b.Memory < one.Memory || b.Disk < one.Disk {
		t.Fatalf("derived budget %+v holds less than one execution %+v", b, one)
	}
}

func TestReservation_Arithmetic(t *testing.T) {
	a, b := Reservation{Memory: 3, Disk: 5}, Reservation{Memory: 1, Disk: 2}
	if a.Plus(b) != (Reservation{4, 7}) || a.Minus(b) != (Reservation{2, 3}) {
		t.Fatal("plus or minus")
	}
	for _, tt := range []struct {
		r, budget Reservation
		fits      bool
	}{
		{Reservation{1, 1}, Reservation{1, 1}, true},
		{Reservation{2, 1}, Reservation{1, 1}, false},
		{Reservation{1, 2}, Reservation{1, 1}, false},
		{Reservation{0, 0}, Reservation{0, 0}, true},
	} {
		if got := tt.r.Fits(tt.budget); got != tt.fits {
			t.Errorf("%+v fits %+v = %v", tt.r, tt.budget, got)
		}
	}
}

func TestCappedBuffer_KeepsTheFirstBytesAndFlags(t *testing.T) {
	b := &cappedBuffer{limit: 5}
	for _, s := range []string{"ab", "cde", "fg", "h"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if b.String() != "abcde" || !b.truncated {
		t.Fatalf("%q truncated=%v", b.String(), b.truncated)
	}
}

func TestMemoryCap_RefusesGrowthPastTheLimitAndRecordsThePeak(t *testing.T) {
	m := newMemoryCap(4, nil, nil)
	m.Allocate(65536, 1<<32)
	if b := m.Reallocate(65536); len(b) != 65536 {
		t.Fatal("minimum refused")
	}
	if b := m.Reallocate(4 * 65536); len(b) != 4*65536 {
		t.Fatal("growth to the limit refused")
	}
	if b := m.Reallocate(5 * 65536); b != nil {
		t.Fatal("growth past the limit allowed")
	}
	if m.peakKB() != 256 || m.overLimit {
		t.Fatalf("peak %d KiB, overLimit %v", m.peakKB(), m.overLimit)
	}
}

// A memory that grows past maxPooledMemory leaves the Go heap for a mapped region: its bytes are
// kept across the move, it grows in place, and Free gives it back; the heap count follows.
func TestMemoryCap_LargeMemoryLivesOutsideTheHeap(t *testing.T) {
	var onHeap atomic.Int64
	pool := &memoryPool{}
	m := newMemoryCap(1024, pool, &onHeap) // 64 MiB limit
	m.Allocate(65536, 1<<32)
	small := m.Reallocate(65536)
	small[100] = 7
	if onHeap.Load() < 65536 || m.mapped != nil {
		t.Fatalf("small memory: %d bytes counted on the heap, mapped %v", onHeap.Load(), m.mapped != nil)
	}
	big := m.Reallocate(8 << 20)
	if m.mapped == nil || len(big) != 8<<20 || big[100] != 7 {
		t.Fatalf("grown memory: mapped %v, %d bytes, kept byte %d", m.mapped != nil, len(big), big[100])
	}
	if onHeap.Load() != 0 {
		t.Fatalf("%d bytes still counted on the heap after the move", onHeap.Load())
	}
	big[len(big)-1] = 9
	bigger := m.Reallocate(64 << 20)
	if &bigger[0] != &big[0] || bigger[len(big)-1] != 9 || m.Reallocate(65<<20) != nil {
		t.Fatal("the mapped memory did not grow in place up to its limit")
	}
	m.Free()
	if m.mapped != nil || onHeap.Load() != 0 {
		t.Fatal("Free kept the region")
	}
}

func TestModuleCache_EvictsTheLeastRecentlyUsedAndNoticesChangedFiles(t *testing.T) {
	e := newExecutor(t, func(c *Config) { c.MaxCompiledModules = 1 })
	mod := writeModule(t, wasmModule(nil, []wasmFunc{{export: "_start"}}, 1, true))
	for _, p := range []string{hello(t), mod, hello(t)} {
		if _, err := e.Execute(context.Background(), request(p)); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if n := e.modules.len(); n != 1 {
			t.Fatalf("cache holds %d modules, bound 1", n)
		}
	}
	// Rewrite mod into one that traps: the new file must be used.
	bin := wasmModule(nil, []wasmFunc{{body: []byte{opUnreachable}, export: "_start"}}, 1, true)
	if err := os.WriteFile(mod, bin, 0o600); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.Execute(context.Background(), request(mod)); res.ExitCode != 11 {
		t.Fatalf("changed module not recompiled: %+v", res)
	}
}

func TestExecute_OnDiskCacheIsFilledForTheNextStart(t *testing.T) {
	dir := t.TempDir()
	e := newExecutor(t, func(c *Config) { c.CompilationCacheDir = dir })
	if _, err := e.Execute(context.Background(), request(hello(t))); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("compilation cache dir empty: %v", err)
	}
	e2 := newExecutor(t, func(c *Config) { c.CompilationCacheDir = dir })
	if res, err := e2.Execute(context.Background(), request(hello(t))); err != nil || res.Stdout != helloOut {
		t.Fatalf("from the disk cache: %+v, %v", res, err)
	}
	e3 := newExecutor(t, func(c *Config) { c.CompilationCacheDir = DisableCompilationCache })
	if res, err := e3.Execute(context.Background(), request(hello(t))); err != nil || res.Stdout != helloOut {
		t.Fatalf("without a disk cache: %+v, %v", res, err)
	}
}

func TestMetrics_CountExecutionsByOutcome(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newExecutor(t, func(c *Config) { c.Registerer = reg })
	fn := "bafy-hello"
	for range 2 {
		if _, err := e.Execute(context.Background(), request(hello(t))); err != nil {
			t.Fatal(err)
		}
	}
	bad := request(writeModule(t, []byte("junk")))
	bad.FunctionID = fn
	if _, err := e.Execute(context.Background(), bad); err == nil {
		t.Fatal("junk module ran")
	}
	for name, want := range map[string]float64{
		"b7s_executor_function_executions":     3,
		"b7s_executor_function_executions_ok":  2,
		"b7s_executor_function_executions_err": 1,
	} {
		c, err := testutil.GatherAndCount(reg, name)
		if err != nil || c != 1 {
			t.Fatalf("%s: %d series, %v", name, c, err)
		}
		var got float64
		switch name {
		case "b7s_executor_function_executions":
			got = testutil.ToFloat64(e.metrics.executions.WithLabelValues(fn))
		case "b7s_executor_function_executions_ok":
			got = testutil.ToFloat64(e.metrics.executionsOK.WithLabelValues(fn))
		default:
			got = testutil.ToFloat64(e.metrics.executionsErr.WithLabelValues(fn))
		}
		if got != want {
			t.Errorf("%s{function=%q} = %v, want %v", name, fn, got, want)
		}
	}
	for _, name := range []string{
		"b7s_executor_function_executions_milliseconds",
		"b7s_executor_function_executions_cpu_user_time_milliseconds",
		"b7s_executor_function_executions_cpu_sys_time_milliseconds",
	} {
		if c, err := testutil.GatherAndCount(reg, name); err != nil || c != 1 {
			t.Errorf("%s: %d series, %v", name, c, err)
		}
	}
	if _, err := New(e.cfg); err == nil {
		t.Error("a second executor on the same registry should fail to register")
	}
}

func TestExecute_200ConcurrentHellosLeakNothing(t *testing.T) {
	e := newExecutor(t, nil)
	if _, err := e.Execute(context.Background(), request(hello(t))); err != nil { // warm
		t.Fatal(err)
	}
	goroutines := runtime.NumGoroutine()
	fds := openFiles(t)

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Execute(context.Background(), request(hello(t)))
			if err != nil || res.Stdout != helloOut {
				errs <- fmt.Errorf("stdout %q, err %v", res.Stdout, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// wazero's per-call context watchers exit asynchronously: let them run.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if g := runtime.NumGoroutine(); g > goroutines {
		t.Errorf("goroutines: %d before, %d after", goroutines, g)
	}
	if f := openFiles(t); f > fds {
		t.Errorf("open files: %d before, %d after", fds, f)
	}
	entries, err := os.ReadDir(e.cfg.Workspace + "/t")
	if (err != nil && !errors.Is(err, os.ErrNotExist)) || len(entries) != 0 {
		t.Errorf("execution directories left: %d, %v", len(entries), err)
	}
}

func openFiles(t testing.TB) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

func TestModuleCache_ConcurrentFirstExecutionsCompileOnce(t *testing.T) {
	e := newExecutor(t, nil)
	var compiles sync.Map // path -> *atomic.Int64
	compile := e.modules.compile
	e.modules.compile = func(ctx context.Context, key moduleKey) (compiledCode, error) {
		n, _ := compiles.LoadOrStore(key, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		return compile(ctx, key)
	}
	a := writeModule(t, wasmModule(nil, []wasmFunc{{export: "_start"}}, 1, true))
	b := writeModule(t, wasmModule(nil, []wasmFunc{{body: []byte{opI32Const, 1, opDrop}, export: "_start"}}, 1, true))
	// The guest takes long to compile (or to load from the disk cache): a
	// wide window for a second compilation to slip in.
	g := guest(t)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := [...]Request{request(a), request(b), request(g, "exit", "0")}[i%3]
			if res, err := e.Execute(context.Background(), req); err != nil {
				t.Errorf("execute: %+v, %v", res, err)
			}
		}()
	}
	wg.Wait()
	compiles.Range(func(path, n any) bool {
		if c := n.(*atomic.Int64).Load(); c != 1 {
			t.Errorf("%s compiled %d times", path, c)
		}
		return true
	})
}
