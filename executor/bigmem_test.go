package executor

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	wb "github.com/b7s-actor/b7s/internal/wasmbuild"
)

// touchModule grows its memory to pages (64 KiB each) and writes one byte in every page, so
// all of them are really used.
func touchModule(pages int32) []byte {
	m := wb.New()
	var c wb.Code
	c.Const(pages - 1).Grow().Op(wb.Drop).
		Const(0).Set(0).
		Block().Loop().
		Get(0).Const(pages * 65536).Op(wb.I32GeU).BrIf(1).
		Get(0).Const(1).Store8(0).
		Get(0).Const(65536).Op(wb.I32Add).Set(0).
		Br(0).
		End().End()
	m.Memory(1, "memory")
	m.ExportFunc("_start", m.Func(nil, nil, []wb.ValType{wb.I32}, c.Bytes()))
	return m.Bytes()
}

func vmRSSKB(t testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status: ", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// A guest that really uses 192 MiB runs, is measured, and leaves nothing behind: its memory
// lived outside the Go heap and went back to the OS when it ended.
func TestExecute_LargeGuestMemoryIsGivenBackWhenItEnds(t *testing.T) {
	e := newExecutor(t, func(c *Config) { c.DefaultMemoryLimitPages = 4096 })
	path := writeModule(t, touchModule(3072)) // 192 MiB
	runtime.GC()
	before := vmRSSKB(t)
	res, err := e.Execute(context.Background(), request(path))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("exit %d: %v", res.ExitCode, err)
	}
	if res.Usage.MemoryMaxKB < 192<<10 {
		t.Fatalf("peak memory %d KiB, want at least 192 MiB", res.Usage.MemoryMaxKB)
	}
	if after := vmRSSKB(t); after > before+32<<10 {
		t.Fatalf("RSS %d KiB after the run, %d KiB before: the guest's memory was kept", after, before)
	}
	if n := e.GuestHeapBytes(); n != 0 {
		t.Fatalf("%d bytes of guest memory still counted on the heap", n)
	}
}

// BenchmarkExecuteLargeGuest runs a guest that grows to and touches 256 MiB: the time per run,
// the collections it causes and the RSS left afterwards.
func BenchmarkExecuteLargeGuest(b *testing.B) {
	e := newExecutor(b, func(c *Config) { c.DefaultMemoryLimitPages = 4096 })
	path := writeModule(b, touchModule(4096))
	if _, err := e.Execute(context.Background(), request(path)); err != nil {
		b.Fatal(err)
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for range b.N {
		if res, err := e.Execute(context.Background(), request(path)); err != nil || res.ExitCode != 0 {
			b.Fatalf("exit %d: %v", res.ExitCode, err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(ms1.NumGC-ms0.NumGC)/float64(b.N), "gc/op")
	b.ReportMetric(float64(vmRSSKB(b))/1024, "rss-after-MiB")
}

// A 15-byte module declaring four billion tables is refused before the compiler allocates by
// that count (wazero's decoder used to ask for gigabytes).
func TestExecute_HugeDeclaredCountIsRefusedWithoutAllocating(t *testing.T) {
	e := newExecutor(t, nil)
	bin := append([]byte("\x00asm\x01\x00\x00\x00"), 4, 5, 0xff, 0xff, 0xff, 0xff, 0x0f)
	path := writeModule(t, bin)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := e.Execute(context.Background(), request(path))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrBadModule) {
		t.Fatalf("err = %v, want ErrBadModule", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("refusing the module allocated %d MiB", grew>>20)
	}
}
