package fuel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// A section-level assembler for the test modules: each section is its entries,
// already encoded; module adds the counts and sizes.

type sec struct {
	id      byte
	entries [][]byte
	raw     []byte // for sections without a vector (start, custom)
}

func wasm(secs ...sec) []byte {
	out := bytes.Clone(wasmHeader)
	for _, s := range secs {
		content := s.raw
		if s.raw == nil {
			content = appendU32(nil, uint32(len(s.entries)))
			for _, e := range s.entries {
				content = append(content, e...)
			}
		}
		out = append(out, s.id)
		out = appendU32(out, uint32(len(content)))
		out = append(out, content...)
	}
	return out
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func functype(params, results []byte) []byte {
	b := []byte{0x60}
	b = append(appendU32(b, uint32(len(params))), params...)
	return append(appendU32(b, uint32(len(results))), results...)
}

// body is a code entry: one local of each type in locals, then code and end.
func body(locals []byte, code ...[]byte) []byte {
	b := appendU32(nil, uint32(len(locals)))
	for _, t := range locals {
		b = append(b, 1, t)
	}
	b = append(b, cat(code...)...)
	b = append(b, 0x0b)
	return append(appendU32(nil, uint32(len(b))), b...)
}

func export(name string, kind byte, idx uint32) []byte {
	return appendU32(append(appendName(nil, name), kind), idx)
}

func u32(v uint32) []byte { return appendU32(nil, v) }

func types(entries ...[]byte) sec { return sec{id: secType, entries: entries} }
func funcs(idx ...uint32) sec {
	s := sec{id: secFunction}
	for _, i := range idx {
		s.entries = append(s.entries, u32(i))
	}
	return s
}
func exports(entries ...[]byte) sec { return sec{id: secExport, entries: entries} }
func code(bodies ...[]byte) sec     { return sec{id: secCode, entries: bodies} }
func memory(pages uint32) sec {
	return sec{id: secMemory, entries: [][]byte{cat([]byte{0}, u32(pages))}}
}

const (
	i32 = 0x7f
	i64 = 0x7e
)

var (
	noResults = []byte{}
	voidType  = functype(nil, nil)
)

// Instructions, for readability.
func i32c(v int32) []byte    { return appendSLEB([]byte{0x41}, int64(v)) }
func lget(i uint32) []byte   { return appendU32([]byte{0x20}, i) }
func lset(i uint32) []byte   { return appendU32([]byte{0x21}, i) }
func ltee(i uint32) []byte   { return appendU32([]byte{0x22}, i) }
func call(f uint32) []byte   { return appendU32([]byte{0x10}, f) }
func br(l uint32) []byte     { return appendU32([]byte{0x0c}, l) }
func brIf(l uint32) []byte   { return appendU32([]byte{0x0d}, l) }
func gget(g uint32) []byte   { return appendU32([]byte{0x23}, g) }
func gset(g uint32) []byte   { return appendU32([]byte{0x24}, g) }
func op(b ...byte) []byte    { return b }
func block(bt byte) []byte   { return []byte{0x02, bt} }
func loop(bt byte) []byte    { return []byte{0x03, bt} }
func ifOp(bt byte) []byte    { return []byte{0x04, bt} }
func blockT(t uint32) []byte { return appendSLEB([]byte{0x02}, int64(t)) }

var (
	end    = []byte{0x0b}
	els    = []byte{0x05}
	i32Add = []byte{0x6a}
	i32Sub = []byte{0x6b}
	i32LtU = []byte{0x49}
	drop   = []byte{0x1a}
)

// rt is one wazero runtime with WASI for the whole test binary.
var (
	rtOnce sync.Once
	rt     wazero.Runtime
)

func testRuntime(t testing.TB) wazero.Runtime {
	t.Helper()
	rtOnce.Do(func() {
		ctx := context.Background()
		// As the executor configures it: without DWARF, wazero skips custom
		// sections other than "name" instead of decoding them.
		rt = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithDebugInfoEnabled(false))
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	})
	return rt
}

var compiledMu sync.Mutex
var compiledMods = map[[32]byte]wazero.CompiledModule{}

func compileOnce(t testing.TB, bin []byte) wazero.CompiledModule {
	t.Helper()
	key := sha256.Sum256(bin)
	compiledMu.Lock()
	defer compiledMu.Unlock()
	if m, ok := compiledMods[key]; ok {
		return m
	}
	m, err := testRuntime(t).CompileModule(context.Background(), bin)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	compiledMods[key] = m
	return m
}

// outcome is what a metered run did.
type outcome struct {
	consumed  uint64
	exhausted bool
	err       error
	stdout    string
}

// run instruments bin (per basic block, or per operator), instantiates it,
// gives it fuel, runs its start function and then entry with args.
func run(t testing.TB, bin []byte, perOperator bool, fuel uint64, entry string, args ...string) outcome {
	t.Helper()
	inst, err := instrument(bin, perOperator)
	if err != nil {
		t.Fatalf("instrument: %v", err)
	}
	return runInstrumented(t, inst, fuel, wazero.NewModuleConfig(), entry, args...)
}

func runInstrumented(t testing.TB, inst Module, fuel uint64, cfg wazero.ModuleConfig, entry string, args ...string) outcome {
	t.Helper()
	ctx := context.Background()
	var stdout bytes.Buffer
	cfg = cfg.WithName("").WithStartFunctions().WithStdout(&stdout).WithArgs(append([]string{"guest"}, args...)...)
	mod, err := testRuntime(t).InstantiateModule(ctx, compileOnce(t, inst.Binary), cfg)
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	defer mod.Close(ctx)
	m, err := Arm(mod, fuel)
	if err != nil {
		t.Fatal(err)
	}
	err = Start(ctx, mod)
	if err == nil && entry != "" {
		_, err = mod.ExportedFunction(entry).Call(ctx)
	}
	return outcome{consumed: m.Consumed(), exhausted: m.Exhausted(), err: err, stdout: stdout.String()}
}
