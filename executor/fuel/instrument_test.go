package fuel

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// Hand-assembled modules whose executed operator counts are known, and that
// between them use every kind of control flow and every proposal wazero
// enables by default. Each exports _start.

// loopSum sums n..1 in a loop: sum runs 9 operators per iteration and one
// after the loop; _start runs 2 (i32.const, call; drop is free).
func loopSum(n int32) []byte {
	return wasm(
		types(voidType, functype([]byte{i32}, []byte{i32})),
		funcs(1, 0),
		exports(export("_start", 0, 1)),
		code(
			body([]byte{i32}, loop(0x40), lget(1), lget(0), i32Add, lset(1),
				lget(0), i32c(1), i32Sub, ltee(0), brIf(0), end, lget(1)),
			body(nil, i32c(n), call(0), drop),
		))
}

func loopSumOps(n int64) uint64 { return uint64(9*n + 1 + 2) }

// fib is recursive: fib(n) = n < 2 ? n : fib(n-1) + fib(n-2).
func fib(n int32) []byte {
	return wasm(
		types(voidType, functype([]byte{i32}, []byte{i32})),
		funcs(1, 0),
		exports(export("_start", 0, 1)),
		code(
			body(nil, lget(0), i32c(2), i32LtU, ifOp(i32), lget(0), els,
				lget(0), i32c(1), i32Sub, call(0), lget(0), i32c(2), i32Sub, call(0), i32Add, end),
			body(nil, i32c(n), call(0), drop),
		))
}

// fibOps: a leaf runs 5 operators (get, const, lt_u, if, get), an inner
// call 13 (4, then 9 in the else arm); _start 2 (drop is free).
func fibOps(n int) uint64 {
	var ops func(n int) uint64
	ops = func(n int) uint64 {
		if n < 2 {
			return 5
		}
		return 13 + ops(n-1) + ops(n-2)
	}
	return ops(n) + 2
}

// brTableLoop is a state machine: a loop dispatching with br_table over
// nested blocks, n rounds.
func brTableLoop(n int32) []byte {
	return wasm(
		types(voidType),
		funcs(0),
		exports(export("_start", 0, 0)),
		code(body([]byte{i32, i32},
			i32c(n), lset(1),
			loop(0x40),
			block(0x40), block(0x40), block(0x40),
			lget(1), i32c(3), op(0x70), // i32.rem_u
			op(0x0e, 2, 0, 1, 2), // br_table [0 1] 2
			end,
			lget(0), i32c(1), i32Add, lset(0), br(1),
			end,
			lget(0), i32c(2), i32Add, lset(0),
			end,
			lget(1), i32c(1), i32Sub, ltee(1), brIf(0),
			end,
		)))
}

// proposals runs, n times, a block with parameters (multi-value), a typed
// select (reference types), sign extension, a saturating truncation, SIMD
// (including an opcode past 127, encoded in two bytes), bulk memory and
// table instructions.
func proposals(n int32) []byte {
	v128 := func(lane int32) []byte {
		b := []byte{0xfd, 12}
		for range 4 {
			b = binary.LittleEndian.AppendUint32(b, uint32(lane))
		}
		return b
	}
	return wasm(
		types(voidType, functype([]byte{i32, i32}, []byte{i32})),
		funcs(0),
		sec{id: secTable, entries: [][]byte{{0x70, 0x00, 0x01}}},
		memory(1),
		exports(export("_start", 0, 0)),
		code(body([]byte{i32},
			i32c(n), lset(0),
			loop(0x40),
			i32c(1), i32c(2), blockT(1), i32Add, end, drop,
			i32c(5), i32c(6), i32c(1), op(0x1c, 0x01, i32), drop,
			i32c(200), op(0xc0), drop,
			op(0x43, 0, 0, 0xc0, 0x3f), op(0xfc, 0x00), drop, // f32.const 1.5, i32.trunc_sat_f32_s
			v128(3), v128(4), op(0xfd, 0xb5, 0x01), op(0xfd, 27, 0), drop, // i32x4.mul, extract_lane 0
			i32c(0), i32c(7), i32c(64), op(0xfc, 11, 0), // memory.fill
			i32c(64), i32c(0), i32c(64), op(0xfc, 10, 0, 0), // memory.copy
			op(0xd0, 0x70, 0xd1), drop, // ref.null func, ref.is_null
			op(0xfc, 16, 0), drop, // table.size 0
			lget(0), i32c(1), i32Sub, ltee(0), brIf(0),
			end,
		)))
}

// indirect calls through a table n times, alternating two functions, and
// branches out of nested ifs and blocks with br, return and an if without else.
func indirect(n int32) []byte {
	return wasm(
		types(voidType, functype(nil, []byte{i32})),
		funcs(1, 1, 0, 0),
		sec{id: secTable, entries: [][]byte{{0x70, 0x00, 0x02}}},
		exports(export("_start", 0, 2)),
		sec{id: secElement, entries: [][]byte{cat(u32(0), i32c(0), end, u32(2), u32(0), u32(1))}},
		code(
			body(nil, i32c(7)),
			body(nil, op(0xd2, 0), drop, i32c(9)), // ref.func
			body([]byte{i32},
				i32c(n), lset(0),
				loop(0x40),
				lget(0), i32c(1), op(0x71), op(0x11, 1, 0), drop, // i32.and, call_indirect type 1 table 0
				lget(0), i32c(2), op(0x70), ifOp(0x40), call(3), end,
				lget(0), i32c(1), i32Sub, ltee(0), brIf(0),
				end,
			),
			body(nil, block(0x40), block(0x40), i32c(1), brIf(1), i32c(0), ifOp(0x40), op(0x0f), end, br(0), end, end),
		))
}

// withStart has a start section: its start function loops n times, and
// _start does nothing.
func withStart(n int32) []byte {
	return wasm(
		types(voidType),
		funcs(0, 0),
		exports(export("_start", 0, 1)),
		sec{id: secStart, raw: u32(0)},
		code(
			body([]byte{i32}, i32c(n), lset(0), loop(0x40), lget(0), i32c(1), i32Sub, ltee(0), brIf(0), end),
			body(nil),
		))
}

var handModules = []struct {
	name string
	bin  []byte
	ops  uint64 // the executed operator count, when known by construction
}{
	{"loop sum", loopSum(1000), loopSumOps(1000)},
	{"fib", fib(15), fibOps(15)},
	{"br_table", brTableLoop(100), 0},
	{"proposals", proposals(50), 0},
	{"indirect", indirect(40), 0},
	{"start section", withStart(100), 2 + 100*5},
}

// On a run that completes, the fuel charged per basic block is the count of
// operators executed: the count known by construction, and the count of the
// same module charged operator by operator.
func TestInstrument_CompletedRunConsumesItsOperatorCount(t *testing.T) {
	for _, m := range handModules {
		t.Run(m.name, func(t *testing.T) {
			blocks := run(t, m.bin, false, math.MaxInt64, "_start")
			perOp := run(t, m.bin, true, math.MaxInt64, "_start")
			if blocks.err != nil || perOp.err != nil || blocks.exhausted || perOp.exhausted {
				t.Fatalf("runs failed: %+v, %+v", blocks, perOp)
			}
			if blocks.consumed != perOp.consumed {
				t.Errorf("charged per block %d, per operator %d", blocks.consumed, perOp.consumed)
			}
			if m.ops != 0 && blocks.consumed != m.ops {
				t.Errorf("charged %d, the module runs %d operators", blocks.consumed, m.ops)
			}
		})
	}
}

// Exactly enough fuel completes; one unit less stops the module, with the
// fuel of the blocks that ran charged and nothing else.
func TestInstrument_ExactFuelCompletesAndOneLessStops(t *testing.T) {
	for _, m := range handModules {
		t.Run(m.name, func(t *testing.T) {
			need := run(t, m.bin, false, math.MaxInt64, "_start").consumed
			if got := run(t, m.bin, false, need, "_start"); got.err != nil || got.exhausted || got.consumed != need {
				t.Fatalf("with exactly %d: %+v", need, got)
			}
			short := run(t, m.bin, false, need-1, "_start")
			if !short.exhausted || short.err == nil || !strings.Contains(short.err.Error(), "unreachable") {
				t.Fatalf("with %d: %+v", need-1, short)
			}
			if short.consumed > need-1 || short.consumed == 0 {
				t.Fatalf("with %d, charged %d", need-1, short.consumed)
			}
			if zero := run(t, m.bin, false, 0, "_start"); !zero.exhausted || zero.consumed != 0 {
				t.Fatalf("with no fuel: %+v", zero)
			}
		})
	}
}

// A stop lands on the same block every time, and a larger budget never
// stops earlier.
func TestInstrument_StopsAreDeterministicAndMonotonic(t *testing.T) {
	bin := brTableLoop(1000)
	need := run(t, bin, false, math.MaxInt64, "_start").consumed
	var last uint64
	for _, fuel := range []uint64{1, 10, 100, need / 3, need / 2, need - 5} {
		first := run(t, bin, false, fuel, "_start")
		for range 5 {
			if again := run(t, bin, false, fuel, "_start"); again.consumed != first.consumed || !again.exhausted {
				t.Fatalf("fuel %d: %+v then %+v", fuel, first, again)
			}
		}
		if first.consumed < last || first.consumed > fuel {
			t.Fatalf("fuel %d charged %d (previous budget charged %d)", fuel, first.consumed, last)
		}
		last = first.consumed
	}
}

func TestInstrument_TightLoopAndDeepRecursionStop(t *testing.T) {
	spin := wasm(types(voidType), funcs(0), exports(export("_start", 0, 0)),
		code(body(nil, loop(0x40), br(0), end)))
	if got := run(t, spin, false, 1_000_000, "_start"); !got.exhausted || got.consumed != 1_000_000 {
		t.Fatalf("loop br 0: %+v", got)
	}
	recurse := wasm(types(voidType), funcs(0), exports(export("_start", 0, 0)),
		code(body(nil, call(0))))
	if got := run(t, recurse, false, 10_000, "_start"); !got.exhausted || got.consumed != 10_000 {
		t.Fatalf("recursion: %+v", got)
	}
}

func TestInstrument_KeepsCustomSectionsAndExtendsExistingSections(t *testing.T) {
	name := sec{id: secCustom, raw: cat(appendName(nil, "b7s-test"), []byte{1, 2, 3})}
	bin := wasm(
		// (i64) -> () exists: the stop function reuses it.
		types(voidType, functype([]byte{i64}, nil), functype(nil, []byte{i32})),
		sec{id: secImport, entries: [][]byte{cat(appendName(nil, "wasi_snapshot_preview1"), appendName(nil, "sched_yield"),
			[]byte{0x00}, u32(2))}},
		funcs(0),
		sec{id: secGlobal, entries: [][]byte{cat([]byte{i32, 1}, i32c(5), end)}},
		exports(export("_start", 0, 1), export("g", 3, 0)),
		code(body(nil, gget(0), i32c(1), i32Add, gset(0), call(0), drop)),
		name,
	)
	inst, err := Instrument(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(inst.Binary, cat([]byte{0}, u32(uint32(len(name.raw))), name.raw)) {
		t.Error("the custom section was not kept at the end")
	}
	m, err := parseModule(inst.Binary)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.types) != 3 || m.globals != 3 || len(m.funcs) != 2 || !m.exports["g"] || !m.exports[ExportRemaining] {
		t.Fatalf("types %d, globals %d, funcs %d, exports %v", len(m.types), m.globals, len(m.funcs), m.exports)
	}
	got := runInstrumented(t, inst, 100, wazero.NewModuleConfig(), "_start")
	if got.err != nil || got.consumed != 5 { // drop is free
		t.Fatalf("%+v, want 5 charged", got)
	}
}

// Modules the rewrite refuses, each with the reason it gives. The rewrite
// never turns an invalid module into one that runs; indices past the
// original index spaces would reach the fuel counter or the stop function.
func TestInstrument_RefusesWhatItCannotMeterFaithfully(t *testing.T) {
	start := func(b ...[]byte) []byte {
		return wasm(types(voidType), funcs(0), memory(1), exports(export("_start", 0, 0)), code(body(nil, b...)))
	}
	validBody := body(nil)
	for _, tc := range []struct {
		name string
		bin  []byte
		want string
	}{
		{"not wasm", []byte("hello"), "not a WebAssembly module"},
		{"version 2", []byte{0, 'a', 's', 'm', 2, 0, 0, 0}, "version"},
		{"reads the fuel counter", start(gget(0), drop), "global 0 does not exist"},
		{"writes the fuel counter", start(op(0x42, 0), gset(0)), "global 0 does not exist"},
		{"calls the stop function", start(call(1)), "function 1 does not exist"},
		{"ref.func past the functions", start(op(0xd2, 1), drop), "function 1 does not exist"},
		{"block type past the types", start(blockT(1), end), "block type 1 does not exist"},
		{"call_indirect type past the types", start(i32c(0), op(0x11, 1, 0)), "type 1 does not exist"},
		{"exports the counter's name", wasm(types(voidType), funcs(0),
			exports(export(ExportRemaining, 0, 0)), code(validBody)), "already exports"},
		{"export of a global that does not exist", wasm(types(voidType), funcs(0),
			exports(export("g", 3, 0)), code(validBody)), "global 0 does not exist"},
		{"start function with parameters", wasm(types(functype([]byte{i32}, nil)), funcs(0),
			sec{id: secStart, raw: u32(0)}, code(body(nil))), "is not () -> ()"},
		{"element with a function that does not exist", wasm(types(voidType), funcs(0),
			sec{id: secTable, entries: [][]byte{{0x70, 0, 1}}},
			sec{id: secElement, entries: [][]byte{cat(u32(0), i32c(0), end, u32(1), u32(1))}},
			code(validBody)), "function 1, which does not exist"},
		{"global initialised from the counter", wasm(types(voidType),
			sec{id: secGlobal, entries: [][]byte{cat([]byte{i32, 0}, gget(0), end)}}), "no such global"},
		{"code section cut short", wasm(types(voidType), funcs(0),
			sec{id: secCode, raw: cat(u32(1), u32(10), []byte{0, 0x0b})}), "unexpected end"},
		{"body without its end", wasm(types(voidType), funcs(0), code(cat(u32(2), []byte{0, 0x01}))), "ends before its end"},
		{"bytes after the body's end", wasm(types(voidType), funcs(0), code(cat(u32(3), []byte{0, 0x0b, 0x01}))), "after the function's end"},
		{"more bodies than functions", wasm(types(voidType), funcs(0), code(validBody, validBody)), "1 functions declared, 2 bodies"},
		{"atomics", start(i32c(0), op(0xfe, 0x10, 2, 0), drop), "unsupported instruction 0xfe"},
		{"tail call", start(op(0x12, 0)), "unsupported instruction 0x12"},
		{"exceptions", start(op(0x06, 0x40), end), "unsupported instruction 0x06"},
		{"unassigned SIMD opcode", start(op(0xfd, 0x9a, 0x01)), "unsupported instruction 0xfd 0x9a"},
		{"relaxed SIMD", start(op(0xfd, 0x80, 0x02)), "not encoded as wazero reads it"},
		{"SIMD opcode wazero would read differently", start(op(0xfd, 0x8c, 0x00)), "not encoded as wazero reads it"},
		{"memory.size reserved byte", start(op(0x3f, 0x01), drop), "reserved byte"},
		{"typed select of two types", start(op(0x1c, 0x02, i32, i32)), "typed select"},
		{"branch past the function", start(br(1)), "branch to label 1 at depth 1"},
		{"else outside an if", start(block(0x40), els, end), "else outside an if"},
		{"tag section", wasm(types(voidType), sec{id: 13, entries: nil}), "unsupported section id 13"},
		{"sections out of order", wasm(funcs(), types()), "out of order"},
		{"section repeated", wasm(types(), types()), "out of order or repeated"},
		{"section past the end", append(wasm(types(voidType)), 1, 100), "unexpected end"},
		{"integer too long", wasm(sec{id: secType, raw: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}}), "longer than 5 bytes"},
		{"huge vector", wasm(sec{id: secType, raw: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}}), "vector of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Instrument(tc.bin)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "instrument for fuel: ") {
				t.Errorf("err = %v: not prefixed with what failed", err)
			}
		})
	}
}

func TestInstrument_IsDeterministic(t *testing.T) {
	for _, m := range handModules {
		a, errA := Instrument(m.bin)
		b, errB := Instrument(m.bin)
		if errA != nil || errB != nil || !bytes.Equal(a.Binary, b.Binary) {
			t.Fatalf("%s: two rewrites differ (%v, %v)", m.name, errA, errB)
		}
	}
}

// computeGuest builds testdata/compute for wasip1.
func computeGuest(t testing.TB) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "compute.wasm")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/compute")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// The compute guest (a Go program of a few MB) charged per basic block and
// per operator. Compiling the per-operator module takes minutes under the
// race detector, so this runs only when B7S_FUEL_REFERENCE is set.
func TestInstrument_GoGuestMatchesPerOperatorCount(t *testing.T) {
	if os.Getenv("B7S_FUEL_REFERENCE") == "" {
		t.Skip("set B7S_FUEL_REFERENCE=1 to compare a Go guest with the per-operator reference")
	}
	bin := computeGuest(t)
	for _, args := range [][]string{{"sum", "100000"}, {"fib", "20"}, {"md5", "256"}} {
		var got [2]outcome
		for i, perOp := range []bool{false, true} {
			inst, err := instrument(bin, perOp)
			if err != nil {
				t.Fatal(err)
			}
			// wazero's default random source is fixed: the Go runtime seeds its
			// maps from it, so the guest runs the same instructions every time.
			got[i] = runInstrumented(t, inst, math.MaxInt64, wazero.NewModuleConfig(), "_start", args...)
		}
		diff := float64(got[0].consumed) - float64(got[1].consumed)
		t.Logf("%v: per block %d, per operator %d (%+.6f%%)", args, got[0].consumed, got[1].consumed, 100*diff/float64(got[1].consumed))
		if got[0].stdout != got[1].stdout || math.Abs(diff) > 0.1*float64(got[1].consumed) {
			t.Errorf("%v: %+v vs %+v", args, got[0], got[1])
		}
	}
}

func BenchmarkInstrument(b *testing.B) {
	for _, tc := range []struct {
		name string
		bin  func(testing.TB) []byte
	}{
		{"go-guest", computeGuest},
		{"small", func(testing.TB) []byte { return proposals(1) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bin := tc.bin(b)
			b.SetBytes(int64(len(bin)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Instrument(bin); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
