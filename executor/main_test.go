package executor

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

// Test fixtures shared by the whole test binary.
var (
	fixtureDir string // removed by TestMain
	cacheDir   string // one on-disk compilation cache, so each module compiles once per run

	fixtures sync.Map // file name in fixtureDir -> *fixtureFile

	requestSeq atomic.Int64
)

// helloOut is what hello prints: the output of the TinyGo hello-world that
// Blockless nodes are exercised with, byte for byte (two spaces before 42).
const helloOut = "This is the start of my program\nThe answer is  42\nThis is the end of my program\n"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "executor-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	cacheDir = filepath.Join(dir, "cache")
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type fixtureFile struct {
	once sync.Once
	path string
	err  error
}

// fixture returns fixtureDir/name, made by create on first use. Tests share
// it: building or compiling a module once per test binary keeps the suite fast.
func fixture(t testing.TB, name string, create func(path string) error) string {
	t.Helper()
	v, _ := fixtures.LoadOrStore(name, new(fixtureFile))
	f := v.(*fixtureFile)
	f.once.Do(func() {
		p := filepath.Join(fixtureDir, name)
		if err := create(p); err != nil {
			f.err = fmt.Errorf("test module %s: %w", name, err)
			return
		}
		f.path = p
	})
	if f.err != nil {
		t.Fatal(f.err)
	}
	return f.path
}

// guest is testdata/guest built for wasip1: a real Go program whose argv[1]
// picks a behaviour (see its main).
func guest(t testing.TB) string {
	t.Helper()
	return fixture(t, "guest.wasm", func(out string) error {
		cmd := exec.Command("go", "build", "-o", out, "./testdata/guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, b)
		}
		return nil
	})
}

// hello is a module of the TinyGo hello-world's shape: its only import is
// wasi_snapshot_preview1.fd_write, it exports a 2-page memory and its _start
// prints helloOut in one fd_write. Go cannot produce a module this small (its
// wasip1 runtime imports a dozen WASI functions and takes milliseconds to
// start), and the tests that run a function hundreds of times need one that
// costs nothing but the executor's own work.
func hello(t testing.TB) string {
	t.Helper()
	return fixture(t, "hello.wasm", func(out string) error {
		return os.WriteFile(out, helloModule(), 0o600)
	})
}

func helloModule() []byte {
	const iovec, nwritten, text = 0, 8, 16 // addresses in linear memory
	fdWrite := wasmImport{
		module: "wasi_snapshot_preview1", name: "fd_write",
		params: []byte{i32, i32, i32, i32}, results: []byte{i32},
	}
	body := []byte{
		opI32Const, 1, // stdout
		opI32Const, iovec,
		opI32Const, 1, // one iovec
		opI32Const, nwritten,
		opCall, 0,
		opIf, blockEmpty, opUnreachable, opEnd, // a non-zero errno traps
	}
	iov := binary.LittleEndian.AppendUint32(nil, text)
	iov = binary.LittleEndian.AppendUint32(iov, uint32(len(helloOut)))
	return wasmModule([]wasmImport{fdWrite}, []wasmFunc{{body: body, export: "_start"}}, 2, true,
		wasmData{offset: iovec, bytes: iov}, wasmData{offset: text, bytes: []byte(helloOut)})
}

// newExecutor builds an executor on a fresh workspace with the shared
// compilation cache; edit adjusts the config.
func newExecutor(t testing.TB, edit func(*Config)) *Executor {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Workspace = t.TempDir()
	cfg.CompilationCacheDir = cacheDir
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	if edit != nil {
		edit(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("new executor: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("close executor: %v", err)
		}
	})
	return e
}

// request is a request for module with a fresh request ID.
func request(module string, args ...string) Request {
	return Request{
		RequestID:  fmt.Sprintf("req-%d", requestSeq.Add(1)),
		FunctionID: "bafy-" + strings.TrimSuffix(filepath.Base(module), ".wasm"),
		ModulePath: module,
		Args:       args,
	}
}

// writeModule writes a wasm binary to a temporary file.
func writeModule(t testing.TB, bin []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mod.wasm")
	if err := os.WriteFile(p, bin, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// wasmFunc is a function of a hand-assembled test module.
type wasmFunc struct {
	params, results []byte // value types, e.g. i32 = 0x7f
	locals          []byte // one local of each value type, after the params
	body            []byte // instructions, without locals and the final end
	export          string
}

// wasmData is an active data segment of memory 0 of a hand-assembled test
// module.
type wasmData struct {
	offset int32
	bytes  []byte
}

// wasmImport is a function import of a hand-assembled test module.
type wasmImport struct {
	module, name    string
	params, results []byte
}

const (
	i32 = 0x7f

	opUnreachable = 0x00
	opLoop        = 0x03
	opIf          = 0x04
	opBr          = 0x0c
	opBrIf        = 0x0d
	opEnd         = 0x0b
	opCall        = 0x10
	opDrop        = 0x1a
	opI32Const    = 0x41
	opI32Ne       = 0x47
	opI32DivS     = 0x6d

	blockEmpty = 0x40 // the block type of a block, loop or if without results
)

// wasmModule assembles a core module: imports, functions and, when
// memPages > 0, one memory (exported as "memory" if exportMem) initialised
// with data.
func wasmModule(imports []wasmImport, funcs []wasmFunc, memPages int, exportMem bool, data ...wasmData) []byte {
	var types, imps, fns, exps, code, datas bytes.Buffer
	nTypes := 0
	addType := func(params, results []byte) int {
		types.WriteByte(0x60)
		writeVec(&types, params)
		writeVec(&types, results)
		nTypes++
		return nTypes - 1
	}
	for _, im := range imports {
		ti := addType(im.params, im.results)
		writeName(&imps, im.module)
		writeName(&imps, im.name)
		imps.WriteByte(0x00)
		writeU(&imps, uint64(ti))
	}
	nExports := 0
	for i, f := range funcs {
		writeU(&fns, uint64(addType(f.params, f.results)))
		if f.export != "" {
			writeName(&exps, f.export)
			exps.WriteByte(0x00)
			writeU(&exps, uint64(len(imports)+i))
			nExports++
		}
		body := appendU(nil, uint64(len(f.locals)))
		for _, t := range f.locals {
			body = append(body, 1, t)
		}
		body = append(body, f.body...)
		body = append(body, opEnd)
		writeU(&code, uint64(len(body)))
		code.Write(body)
	}
	for _, d := range data {
		datas.WriteByte(0x00) // active, memory 0
		datas.WriteByte(opI32Const)
		datas.Write(appendS(nil, int64(d.offset)))
		datas.WriteByte(opEnd)
		writeVec(&datas, d.bytes)
	}
	if memPages > 0 && exportMem {
		writeName(&exps, "memory")
		exps.WriteByte(0x02)
		writeU(&exps, 0)
		nExports++
	}

	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	section := func(id byte, count int, content []byte) {
		if count == 0 {
			return
		}
		var s bytes.Buffer
		writeU(&s, uint64(count))
		s.Write(content)
		out = append(out, id)
		out = appendU(out, uint64(s.Len()))
		out = append(out, s.Bytes()...)
	}
	section(1, nTypes, types.Bytes())
	section(2, len(imports), imps.Bytes())
	section(3, len(funcs), fns.Bytes())
	if memPages > 0 {
		section(5, 1, appendU([]byte{0x00}, uint64(memPages)))
	}
	section(7, nExports, exps.Bytes())
	section(10, len(funcs), code.Bytes())
	section(11, len(data), datas.Bytes())
	return out
}

func appendU(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// appendS appends v as signed LEB128, the encoding of i32.const operands.
func appendS(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func writeU(w *bytes.Buffer, v uint64) { w.Write(appendU(nil, v)) }

func writeVec(w *bytes.Buffer, b []byte) {
	writeU(w, uint64(len(b)))
	w.Write(b)
}

func writeName(w *bytes.Buffer, s string) { writeVec(w, []byte(s)) }
