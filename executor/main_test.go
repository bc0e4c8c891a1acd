package executor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	guestOnce sync.Once
	guestPath string
	guestErr  error

	requestSeq atomic.Int64
)

const (
	helloWasm  = "../../shared/testdata/hello.wasm"
	md5sumWasm = "../../shared/testdata/md5sum.wasm"
	helloOut   = "This is the start of my program\nThe answer is  42\nThis is the end of my program\n"
)

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

// guest builds testdata/guest for wasip1, once per test binary.
func guest(t testing.TB) string {
	t.Helper()
	guestOnce.Do(func() {
		out := filepath.Join(fixtureDir, "guest.wasm")
		cmd := exec.Command("go", "build", "-o", out, "./testdata/guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			guestErr = fmt.Errorf("build guest: %v\n%s", err, b)
			return
		}
		guestPath = out
	})
	if guestErr != nil {
		t.Fatal(guestErr)
	}
	return guestPath
}

// testdataModule returns the absolute path of a shared test module after
// checking its checksum.
func testdataModule(t testing.TB, rel, sum string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
		t.Fatalf("%s changed: sha256 %x", rel, got)
	}
	return p
}

func hello(t testing.TB) string {
	return testdataModule(t, helloWasm, "82f2b2bf20d2c26635f87df24cc4346cc8448e6cd826b98d839c220876574990")
}

func md5sum(t testing.TB) string {
	return testdataModule(t, md5sumWasm, "7826a7b3d677159a7aef62f30c56a6ba3323a899df48593a4c97626151bf1d42")
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
	body            []byte // instructions, without locals and the final end
	export          string
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
	opBr          = 0x0c
	opBrIf        = 0x0d
	opEnd         = 0x0b
	opCall        = 0x10
	opDrop        = 0x1a
	opI32Const    = 0x41
	opI32Ne       = 0x47
	opI32DivS     = 0x6d
)

// wasmModule assembles a core module: imports, functions and, when
// memPages > 0, one memory (exported as "memory" if exportMem).
func wasmModule(imports []wasmImport, funcs []wasmFunc, memPages int, exportMem bool) []byte {
	var types, imps, fns, exps, code bytes.Buffer
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
		body := append([]byte{0x00}, f.body...) // no locals
		body = append(body, opEnd)
		writeU(&code, uint64(len(body)))
		code.Write(body)
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

func writeU(w *bytes.Buffer, v uint64) { w.Write(appendU(nil, v)) }

func writeVec(w *bytes.Buffer, b []byte) {
	writeU(w, uint64(len(b)))
	w.Write(b)
}

func writeName(w *bytes.Buffer, s string) { writeVec(w, []byte(s)) }
