package executor

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/executor/fuel"
	"github.com/b7s-actor/b7s/messages"
)

// Hand-assembled compute guests whose executed operator counts are known by
// construction (wasmtime's unit: nop, drop, block, loop, unreachable, return,
// else and end are free). They read no clock and no random bytes, so a run
// is the same instructions on every machine.

func i32c(v int32) []byte     { return appendS([]byte{opI32Const}, int64(v)) }
func lget(i byte) []byte      { return []byte{0x20, i} }
func lset(i byte) []byte      { return []byte{0x21, i} }
func ltee(i byte) []byte      { return []byte{0x22, i} }
func load(off int) []byte     { return appendU([]byte{0x28, 2}, uint64(off)) } // i32.load align 4
func store(off int) []byte    { return appendU([]byte{0x36, 2}, uint64(off)) }
func code(p ...[]byte) []byte { return bytes.Join(p, nil) }

var (
	i32Add  = []byte{0x6a}
	i32Sub  = []byte{0x6b}
	i32Mul  = []byte{0x6c}
	i32And  = []byte{0x71}
	i32Or   = []byte{0x72}
	i32Xor  = []byte{0x73}
	i32Shl  = []byte{0x74}
	i32ShrU = []byte{0x76}
	i32Rotl = []byte{0x77}
	i32LtU  = []byte{0x49}
	brIf0   = []byte{opBrIf, 0}
	end     = []byte{opEnd}
)

// sumModule sums n..1 in a loop: 9 operators an iteration, 3 more.
func sumModule(n int32) ([]byte, uint64) {
	return wasmModule(nil, []wasmFunc{
		{params: []byte{i32}, results: []byte{i32}, locals: []byte{i32}, body: code(
			[]byte{opLoop, blockEmpty}, lget(1), lget(0), i32Add, lset(1),
			lget(0), i32c(1), i32Sub, ltee(0), brIf0, end, lget(1))},
		{body: code(i32c(n), []byte{opCall, 0, opDrop}), export: "_start"},
	}, 0, false), uint64(9*int64(n) + 3)
}

// fibModule computes fib(n) recursively: a leaf call runs 5 operators, an
// inner one 13, _start 2.
func fibModule(n int) ([]byte, uint64) {
	var ops func(int) uint64
	ops = func(n int) uint64 {
		if n < 2 {
			return 5
		}
		return 13 + ops(n-1) + ops(n-2)
	}
	return wasmModule(nil, []wasmFunc{
		{params: []byte{i32}, results: []byte{i32}, body: code(
			lget(0), i32c(2), i32LtU, []byte{opIf, i32}, lget(0), []byte{0x05},
			lget(0), i32c(1), i32Sub, []byte{opCall, 0}, lget(0), i32c(2), i32Sub, []byte{opCall, 0}, i32Add, end)},
		{body: code(i32c(int32(n)), []byte{opCall, 0, opDrop}), export: "_start"},
	}, 0, false), ops(n) + 2
}

// md5Input is the buffer md5Module hashes: size bytes of a linear
// congruential generator's top bytes.
func md5Input(size int) []byte {
	b := make([]byte, size)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// md5Module generates md5Input(size) in its memory (size a multiple of 64),
// pads it, runs MD5 over it and writes the 16-byte digest to stdout. It
// returns the module and its operator count, counted instruction by
// instruction below.
func md5Module(size int) ([]byte, uint64) {
	const (
		kTab, sTab, gTab, hAt, buf   = 0x100, 0x200, 0x300, 0x400, 0x1000
		p, endp, a, b, c, d, i, f, x = 0, 1, 2, 3, 4, 5, 6, 7, 8 // locals
	)
	if size%64 != 0 {
		panic("md5Module: size must be a multiple of 64")
	}
	var tables []byte
	for j := range 64 {
		tables = binary.LittleEndian.AppendUint32(tables, uint32(math.Floor(math.Abs(math.Sin(float64(j+1)))*(1<<32))))
	}
	shifts := [4][4]uint32{{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}}
	var s, g []byte
	for j := range 64 {
		s = binary.LittleEndian.AppendUint32(s, shifts[j/16][j%4])
		gj := [4]int{j, (5*j + 1) % 16, (3*j + 5) % 16, (7 * j) % 16}[j/16]
		g = binary.LittleEndian.AppendUint32(g, uint32(4*gj))
	}
	h := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10}
	iov := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, hAt), 16)
	notB := code(i32c(-1), i32Xor)

	round := code( // 40 operators, plus the f selection
		lget(f), lget(a), i32Add, // 3
		lget(i), i32c(2), i32Shl, load(kTab), i32Add, // 5
		lget(p), lget(i), i32c(2), i32Shl, load(gTab), i32Add, []byte{0x28, 2, 0}, i32Add, lset(f), // 9
		lget(d), lset(a), lget(c), lset(d), lget(b), lset(c), // 6
		lget(b), lget(f), lget(i), i32c(2), i32Shl, load(sTab), i32Rotl, i32Add, lset(b), // 9
		lget(i), i32c(1), i32Add, ltee(i), i32c(64), i32LtU, brIf0, // 7
	) // + 1 (lset f after the selection) = 40
	selectF := code( // i<16: 4+9, i<32: 8+9, i<48: 12+5, else 12+7
		lget(i), i32c(16), i32LtU, []byte{opIf, i32},
		lget(b), lget(c), i32And, lget(b), notB, lget(d), i32And, i32Or,
		[]byte{0x05}, lget(i), i32c(32), i32LtU, []byte{opIf, i32},
		lget(d), lget(b), i32And, lget(d), notB, lget(c), i32And, i32Or,
		[]byte{0x05}, lget(i), i32c(48), i32LtU, []byte{opIf, i32},
		lget(b), lget(c), i32Xor, lget(d), i32Xor,
		[]byte{0x05}, lget(c), lget(b), lget(d), notB, i32Or, i32Xor,
		end, end, end, lset(f))
	const roundsOps = 16*(13+40) + 16*(17+40) + 16*(17+40) + 16*(19+40)

	var loadH, storeH []byte
	for k, v := range []byte{a, b, c, d} {
		loadH = code(loadH, i32c(0), load(hAt+4*k), lset(v))                                    // 3
		storeH = code(storeH, i32c(0), i32c(0), load(hAt+4*k), lget(v), i32Add, store(hAt+4*k)) // 6
	}
	fdWrite := wasmImport{module: "wasi_snapshot_preview1", name: "fd_write",
		params: []byte{i32, i32, i32, i32}, results: []byte{i32}}
	body := code(
		i32c(1), lset(x), i32c(buf), lset(p), // 4
		[]byte{opLoop, blockEmpty}, // 17 a byte
		lget(p), lget(x), i32c(1664525), i32Mul, i32c(1013904223), i32Add, ltee(x), i32c(24), i32ShrU,
		[]byte{0x3a, 0, 0}, // i32.store8
		lget(p), i32c(1), i32Add, ltee(p), i32c(int32(buf+size)), i32LtU, brIf0, end,
		i32c(int32(buf+size)), i32c(0x80), []byte{0x3a, 0, 0}, // 3
		i32c(int32(buf+size+56)), appendS([]byte{0x42}, int64(size)*8), []byte{0x37, 3, 0}, // 3: i64.store
		i32c(buf), lset(p), i32c(int32(buf+size+64)), lset(endp), // 4
		[]byte{opLoop, blockEmpty}, // a block of 64 bytes
		loadH, i32c(0), lset(i),    // 12 + 2
		[]byte{opLoop, blockEmpty}, selectF, round, end,
		storeH,                                                             // 24
		lget(p), i32c(64), i32Add, ltee(p), lget(endp), i32LtU, brIf0, end, // 7
		i32c(1), i32c(0), i32c(1), i32c(8), []byte{opCall, 0}, []byte{opIf, blockEmpty, opUnreachable, opEnd}, // 6
	)
	pages := (buf+size+64)/65536 + 1
	bin := wasmModule([]wasmImport{fdWrite}, []wasmFunc{{locals: bytes.Repeat([]byte{i32}, 9), body: body, export: "_start"}},
		pages, true, wasmData{offset: 0, bytes: iov}, wasmData{offset: kTab, bytes: tables},
		wasmData{offset: sTab, bytes: s}, wasmData{offset: gTab, bytes: g}, wasmData{offset: hAt, bytes: h})
	blocks := uint64(size/64 + 1)
	return bin, 20 + 17*uint64(size) + blocks*(12+2+roundsOps+24+7)
}

// computeGuest is executor/fuel/testdata/compute for wasip1: a Go program
// that sums in a loop, recurses and hashes, printing its progress.
func computeGuest(t testing.TB) string {
	t.Helper()
	return fixture(t, "compute.wasm", func(out string) error {
		cmd := exec.Command("go", "build", "-o", out, "./fuel/testdata/compute")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, b)
		}
		return nil
	})
}

type handGuest struct {
	name   string
	path   string
	ops    uint64
	stdout string
}

func handGuests(t testing.TB) []handGuest {
	sum, sumOps := sumModule(20000)
	fib, fibOps := fibModule(18)
	md5Bin, md5Ops := md5Module(16 << 10)
	digest := md5.Sum(md5Input(16 << 10))
	return []handGuest{
		{"sum", fixture(t, "fuel-sum.wasm", writeBin(sum)), sumOps, ""},
		{"fib", fixture(t, "fuel-fib.wasm", writeBin(fib)), fibOps, ""},
		{"md5", fixture(t, "fuel-md5.wasm", writeBin(md5Bin)), md5Ops, string(digest[:])},
	}
}

func writeBin(bin []byte) func(string) error {
	return func(p string) error { return os.WriteFile(p, bin, 0o600) }
}

func fuelRequest(path string, fuel uint64, args ...string) Request {
	req := request(path, args...)
	req.Fuel = fuel
	return req
}

// The fuel a completed run is charged is its count of executed operators,
// counted by construction of each module.
func TestFuel_ConsumedIsTheOperatorCount(t *testing.T) {
	e := newExecutor(t, nil)
	for _, g := range handGuests(t) {
		res, err := e.Execute(context.Background(), fuelRequest(g.path, fuel.MaxFuel))
		if err != nil || res.ExitCode != 0 || res.Stdout != g.stdout {
			t.Fatalf("%s: %+v, %v", g.name, res, err)
		}
		if res.Usage.FuelConsumed != g.ops {
			t.Errorf("%s: consumed %d, the module runs %d operators", g.name, res.Usage.FuelConsumed, g.ops)
		}
	}
}

// Fuel that is exactly enough completes with exit 0; one unit less is exit
// 1, code 500, and says so in stderr.
func TestFuel_ExactlyEnoughCompletesOneLessIsExit1(t *testing.T) {
	e := newExecutor(t, nil)
	for _, g := range handGuests(t) {
		res, err := e.Execute(context.Background(), fuelRequest(g.path, g.ops))
		if err != nil || res.ExitCode != 0 || res.Usage.FuelConsumed != g.ops || res.Stdout != g.stdout {
			t.Fatalf("%s with exactly %d: %+v, %v", g.name, g.ops, res, err)
		}
		res, err = e.Execute(context.Background(), fuelRequest(g.path, g.ops-1))
		if !errors.Is(err, ErrFuelExhausted) || res.ExitCode != ExitFuelExhausted || res.Code != messages.CodeError {
			t.Fatalf("%s with %d: %+v, %v", g.name, g.ops-1, res, err)
		}
		want := fmt.Sprintf("fuel exhausted: consumed %d of %d\n", res.Usage.FuelConsumed, g.ops-1)
		if res.Stderr != want || res.Usage.FuelConsumed >= g.ops {
			t.Fatalf("%s: stderr %q, consumed %d; want %q", g.name, res.Stderr, res.Usage.FuelConsumed, want)
		}
	}
}

// A stop with fuel N is the same on 100 runs, half of them with GOMAXPROCS 1
// and half with 2: same exit code, output and consumed fuel.
func TestFuel_StopIsTheSameOn100RunsAndAnyGOMAXPROCS(t *testing.T) {
	e := newExecutor(t, nil)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, g := range handGuests(t) {
		n := g.ops * 2 / 3
		var first Result
		for run := range 100 {
			runtime.GOMAXPROCS(1 + run%2)
			res, err := e.Execute(context.Background(), fuelRequest(g.path, n))
			if !errors.Is(err, ErrFuelExhausted) {
				t.Fatalf("%s run %d: %v", g.name, run, err)
			}
			if run == 0 {
				first = res
				continue
			}
			if res.ExitCode != first.ExitCode || res.Stdout != first.Stdout || res.Stderr != first.Stderr ||
				res.Usage.FuelConsumed != first.Usage.FuelConsumed {
				t.Fatalf("%s run %d differs: %+v, first %+v", g.name, run, res, first)
			}
		}
	}
}

func TestFuel_TightLoopAndDeepRecursionStop(t *testing.T) {
	e := newExecutor(t, nil)
	spin := writeModule(t, wasmModule(nil, []wasmFunc{{body: []byte{opLoop, blockEmpty, opBr, 0, opEnd}, export: "_start"}}, 0, false))
	recurse := writeModule(t, wasmModule(nil, []wasmFunc{{body: []byte{opCall, 0}, export: "_start"}}, 0, false))
	for name, path := range map[string]string{"loop br 0": spin, "recursion": recurse} {
		req := fuelRequest(path, 1_000_000) // wazero's stack holds about 2.6 million frames of it
		req.RunTime = 0                     // only the node's MaxRunTime (a minute): fuel must stop it first
		res, err := e.Execute(context.Background(), req)
		if !errors.Is(err, ErrFuelExhausted) || res.ExitCode != 1 || res.Usage.FuelConsumed != 1_000_000 {
			t.Errorf("%s: %+v, %v", name, res, err)
		}
	}
	// Without fuel, the recursion ends in a stack overflow instead.
	if res, err := e.Execute(context.Background(), request(recurse)); err == nil || errors.Is(err, ErrFuelExhausted) ||
		!strings.Contains(err.Error(), "stack overflow") || res.ExitCode != 2 {
		t.Errorf("recursion without fuel: %+v, %v", res, err)
	}
}

// A start function runs metered too: one that loops forever is stopped.
func TestFuel_StartFunctionIsMetered(t *testing.T) {
	e := newExecutor(t, nil)
	bin := wasmModule(nil, []wasmFunc{
		{body: []byte{opLoop, blockEmpty, opBr, 0, opEnd}},
		{export: "_start"},
	}, 0, false)
	bin = insertSection(bin, 8, []byte{0}) // start: function 0
	res, err := e.Execute(context.Background(), fuelRequest(writeModule(t, bin), 1000))
	if !errors.Is(err, ErrFuelExhausted) || res.ExitCode != 1 || res.Usage.FuelConsumed != 1000 {
		t.Fatalf("%+v, %v", res, err)
	}
}

// A module the rewrite cannot handle is refused before anything of it runs,
// whatever wazero would make of it: with a malformed code section, with a
// proposal the rewrite does not know, or reaching for the fuel counter.
func TestFuel_ModulesThatCannotBeMeteredAreRefused(t *testing.T) {
	e := newExecutor(t, nil)
	for name, tc := range map[string]struct {
		bin  []byte
		want string
	}{
		"code section cut short":  {helloModule()[:len(helloModule())-len(helloOut)-40], "malformed module"},
		"reads the fuel counter":  {wasmModule(nil, []wasmFunc{{body: []byte{0x23, 0, opDrop}, export: "_start"}}, 0, false), "global 0 does not exist"},
		"atomics (not a default)": {wasmModule(nil, []wasmFunc{{body: []byte{0xfe, 0x03, 0x00}, export: "_start"}}, 1, false), "unsupported instruction 0xfe"},
		"exports a reserved name": {wasmModule(nil, []wasmFunc{{export: fuel.ExportRemaining}}, 0, false), "already exports"},
	} {
		req := fuelRequest(writeModule(t, tc.bin), 1000)
		res, err := e.Execute(context.Background(), req)
		// A malformed module is refused by the check every module passes (ErrBadModule).
		if !(errors.Is(err, ErrFuelUnsupported) || errors.Is(err, ErrBadModule)) || !strings.Contains(err.Error(), tc.want) ||
			res.ExitCode != ExitLoadFailure || res.Stdout != "" || res.Usage.FuelConsumed != 0 {
			t.Errorf("%s: %+v, %v", name, res, err)
		}
	}
}

// Instrumented with ample fuel, guests behave exactly as plain ones: same
// stdout, stderr and exit code.
func TestFuel_AmpleFuelChangesNothing(t *testing.T) {
	e := newExecutor(t, nil)
	type run struct {
		path string
		args []string
	}
	runs := []run{
		{hello(t), nil},
		{guest(t), []string{"args", "a", "", "b c"}},
		{guest(t), []string{"exit", "3"}},
		{guest(t), []string{"panic"}},
		{guest(t), []string{"trap"}},
		{guest(t), []string{"md5sum", "--file", "none"}},
		{guest(t), []string{"memread"}},
		{guest(t), []string{"escape"}},
		{writeModule(t, wasmModule(nil, []wasmFunc{{body: []byte{opUnreachable}, export: "_start"}}, 1, true)), nil},
		{writeModule(t, wasmModule(nil, []wasmFunc{{body: []byte{opI32Const, 1, opI32Const, 0, opI32DivS, opDrop}, export: "_start"}}, 1, true)), nil},
	}
	for _, g := range handGuests(t) {
		runs = append(runs, run{g.path, nil})
	}
	for _, r := range runs {
		plain, _ := e.Execute(context.Background(), request(r.path, r.args...))
		metered, _ := e.Execute(context.Background(), fuelRequest(r.path, fuel.MaxFuel, r.args...))
		if plain.Stdout != metered.Stdout || plain.Stderr != metered.Stderr || plain.ExitCode != metered.ExitCode {
			t.Errorf("%s %v: plain %+v, metered %+v", filepath.Base(r.path), r.args, plain, metered)
		}
		if plain.Usage.FuelConsumed != 0 {
			t.Errorf("%s %v: consumed plain %d, metered %d", filepath.Base(r.path), r.args, plain.Usage.FuelConsumed, metered.Usage.FuelConsumed)
		}
	}
	// Plain and instrumented are cached side by side.
	if _, err := e.modules.acquire(context.Background(), moduleKey{path: hello(t)}); err != nil {
		t.Fatal(err)
	}
}

// The instrumented module is cached beside the plain one, in memory and in
// the on-disk compilation cache, so a restarted node loads both.
func TestFuel_InstrumentedModuleIsCachedBesideThePlainOne(t *testing.T) {
	dir := t.TempDir()
	mod, _ := sumModule(10)
	path := writeModule(t, mod)
	e := newExecutor(t, func(c *Config) { c.CompilationCacheDir = dir })
	if _, err := e.Execute(context.Background(), request(path)); err != nil {
		t.Fatal(err)
	}
	plainFiles := countFiles(t, dir)
	if _, err := e.Execute(context.Background(), fuelRequest(path, 1000)); err != nil {
		t.Fatal(err)
	}
	if n := e.modules.len(); n != 2 {
		t.Fatalf("%d modules in memory, want the plain and the instrumented", n)
	}
	both := countFiles(t, dir)
	if both <= plainFiles {
		t.Fatalf("cache files: %d after the plain run, %d after the metered one", plainFiles, both)
	}
	e2 := newExecutor(t, func(c *Config) { c.CompilationCacheDir = dir })
	for _, req := range []Request{request(path), fuelRequest(path, 1000)} {
		if res, err := e2.Execute(context.Background(), req); err != nil {
			t.Fatalf("restarted: %+v, %v", res, err)
		}
	}
	if n := countFiles(t, dir); n != both {
		t.Fatalf("a restarted executor compiled again: %d cache files, %d before", n, both)
	}
}

// insertSection puts a section into a module made by wasmModule, before the
// first section that must follow it.
func insertSection(bin []byte, id byte, content []byte) []byte {
	rank := func(id byte) int { return map[byte]int{12: 10, 10: 11, 11: 12}[id] + int(id)*btoi(id < 10) }
	sec := append([]byte{id}, appendU(nil, uint64(len(content)))...)
	sec = append(sec, content...)
	for pos := 8; pos < len(bin); {
		sid := bin[pos]
		size, n := binary.Uvarint(bin[pos+1:])
		if rank(sid) > rank(id) {
			return append(append(bytes.Clone(bin[:pos]), sec...), bin[pos:]...)
		}
		pos += 1 + n + int(size)
	}
	return append(bin, sec...)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func countFiles(t *testing.T, dir string) int {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFuel_MetricsCountExhaustionsAndFuel(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newExecutor(t, func(c *Config) { c.Registerer = reg })
	mod, ops := sumModule(100)
	path := writeModule(t, mod)
	req := fuelRequest(path, ops)
	req.FunctionID = "bafy-sum"
	res, err := e.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	total := res.Usage.FuelConsumed
	for range 2 {
		req := fuelRequest(path, 10)
		req.FunctionID = "bafy-sum"
		res, err := e.Execute(context.Background(), req)
		if !errors.Is(err, ErrFuelExhausted) || res.Usage.FuelConsumed == 0 {
			t.Fatalf("%+v, %v", res, err)
		}
		total += res.Usage.FuelConsumed
	}
	if got := testutil.ToFloat64(e.metrics.fuelExhausted.WithLabelValues("bafy-sum")); got != 2 {
		t.Errorf("b7s_executor_function_executions_fuel_exhausted = %v, want 2", got)
	}
	if got := testutil.ToFloat64(e.metrics.fuelConsumed.WithLabelValues("bafy-sum")); got != float64(total) {
		t.Errorf("b7s_executor_function_fuel_consumed = %v, want %d", got, total)
	}
	if got := testutil.ToFloat64(e.metrics.executionsErr.WithLabelValues("bafy-sum")); got != 2 {
		t.Errorf("errors = %v, want 2", got)
	}
}
