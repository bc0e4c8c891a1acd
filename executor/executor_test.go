package executor

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/messages"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestExecute_HelloPrintsExactly80Bytes(t *testing.T) {
	e := newExecutor(t, nil)
	res, err := e.Execute(context.Background(), request(hello(t)))
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	if res.Stdout != helloOut || len(res.Stdout) != 80 {
		t.Fatalf("stdout = %q", res.Stdout)
	}
	if res.Code != messages.CodeOK || res.ExitCode != 0 || res.Stderr != "" {
		t.Fatalf("result = %+v", res)
	}
	if res.Usage.WallClock <= 0 || res.Usage.MemoryMaxKB != 128 {
		t.Fatalf("usage = %+v, want wall time and hello's 2 pages, never grown", res.Usage)
	}
}

func TestExecute_Md5sumHashesAFileInTheFSRoot(t *testing.T) {
	e := newExecutor(t, nil)
	req := request(guest(t), "md5sum", "--chunk", "128", "--file", "testfile-abc")
	data := make([]byte, 4096+77) // not a multiple of the chunk: the last read is short
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	fsRoot := filepath.Join(e.cfg.Workspace, "t", req.RequestID, "fs")
	if err := os.MkdirAll(fsRoot, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fsRoot, "testfile-abc"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)

	res, err := e.Execute(context.Background(), req)
	if err != nil {
		t.Fatalf("execute: %v (stderr %q)", err, res.Stderr)
	}
	if res.Stdout != hex.EncodeToString(sum[:]) {
		t.Fatalf("stdout = %q, want %x", res.Stdout, sum)
	}
	if _, err := os.Stat(filepath.Join(e.cfg.Workspace, "t", req.RequestID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("execution directory still there: %v", err)
	}
}

func TestExecute_Md5sumWithoutFileExitsNonZero(t *testing.T) {
	e := newExecutor(t, nil)
	req := request(guest(t), "md5sum", "--file", "nope")
	res, err := e.Execute(context.Background(), req)
	if err == nil || !errors.Is(err, ErrExitStatus) {
		t.Fatalf("err = %v, want ErrExitStatus", err)
	}
	if res.Code != messages.CodeError || res.ExitCode != 1 || !strings.Contains(res.Stderr, "could not open file") {
		t.Fatalf("result = %+v", res)
	}
	if !strings.Contains(err.Error(), req.FunctionID) {
		t.Fatalf("error %q does not name the function", err)
	}
}

func TestExecute_ArgsAreBaseNameThenNonEmptyValues(t *testing.T) {
	e := newExecutor(t, nil)
	res, err := e.Execute(context.Background(), request(guest(t), "args", "", "--chunk", "128", "", "two words"))
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	want := "guest.wasm\nargs\n--chunk\n128\ntwo words\n"
	if res.Stdout != want {
		t.Fatalf("stdout = %q, want %q", res.Stdout, want)
	}
}

func TestExecute_EnvHoldsRequestVarsAndListVarsOnly(t *testing.T) {
	t.Setenv("B7S_NODE_SECRET", "leak")
	e := newExecutor(t, nil)
	req := request(guest(t), "env")
	req.Env = []EnvVar{{"FOO", "bar"}, {"BLS_REQUEST_PATH", "/api"}, {"FOO", "baz"}}
	res, err := e.Execute(context.Background(), req)
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	want := "BLS_LIST_VARS=FOO;BLS_REQUEST_PATH;FOO\nBLS_REQUEST_PATH=/api\nFOO=baz"
	if res.Stdout != want {
		t.Fatalf("stdout = %q, want %q", res.Stdout, want)
	}
}

func TestExecute_StdinReachesWASIAndMemoryRead(t *testing.T) {
	e := newExecutor(t, nil)
	stdin := "hello stdin"

	req := request(guest(t), "stdin")
	req.Stdin = &stdin
	res, err := e.Execute(context.Background(), req)
	if err != nil || res.Stdout != `"hello stdin" <nil>` {
		t.Fatalf("wasi stdin: %q, %v", res.Stdout, err)
	}

	req = request(guest(t), "memread")
	req.Stdin = &stdin
	req.Env = []EnvVar{{"BLS_REQUEST_PATH", "/api"}, {"FOO", "bar"}}
	res, err = e.Execute(context.Background(), req)
	want := "stdin code=0 data=hello stdin\n" + `env code=0 data={"BLS_REQUEST_PATH": "/api","FOO": "bar"}` + "\n"
	if err != nil || res.Stdout != want {
		t.Fatalf("memory_read: %q, %v; want %q", res.Stdout, err, want)
	}
}

func TestExecute_MemoryReadWithoutStdinOrEnv(t *testing.T) {
	e := newExecutor(t, nil)
	res, err := e.Execute(context.Background(), request(guest(t), "memread"))
	want := "stdin code=0 data=\n" + `env code=0 data={"": ""}` + "\n"
	if err != nil || res.Stdout != want {
		t.Fatalf("stdout = %q, %v; want %q", res.Stdout, err, want)
	}
}

func TestExecute_MemoryReadIntoTooSmallBufferIsRuntimeError(t *testing.T) {
	e := newExecutor(t, nil)
	stdin := "longer than four bytes"
	req := request(guest(t), "memread", "4")
	req.Stdin = &stdin
	res, err := e.Execute(context.Background(), req)
	want := "stdin code=2 data=\nenv code=2 data=\n"
	if err != nil || res.Stdout != want {
		t.Fatalf("stdout = %q, %v; want %q", res.Stdout, err, want)
	}

	req = request(guest(t), "memread", "0")
	res, err = e.Execute(context.Background(), req)
	want = "stdin code=3 data=\nenv code=3 data=\n"
	if err != nil || res.Stdout != want {
		t.Fatalf("zero-length buffer: stdout = %q, %v; want %q", res.Stdout, err, want)
	}
}

func TestExecute_TrapIsAResultWithTheTrapsExitCode(t *testing.T) {
	e := newExecutor(t, nil)
	res, err := e.Execute(context.Background(), request(guest(t), "trap"))
	if err == nil || res.Code != messages.CodeError || res.ExitCode != 3 {
		t.Fatalf("out of bounds: %+v, %v", res, err)
	}
	if !strings.Contains(err.Error(), "out of bounds memory access") {
		t.Fatalf("err = %v", err)
	}

	for _, tc := range []struct {
		name string
		body []byte
		exit int
	}{
		{"unreachable", []byte{opUnreachable}, 11},
		{"divide by zero", []byte{opI32Const, 1, opI32Const, 0, opI32DivS, opDrop}, 9},
	} {
		mod := writeModule(t, wasmModule(nil, []wasmFunc{{body: tc.body, export: "_start"}}, 1, true))
		res, err := e.Execute(context.Background(), request(mod))
		if err == nil || res.ExitCode != tc.exit || res.Code != messages.CodeError {
			t.Errorf("%s: %+v, %v; want exit %d", tc.name, res, err, tc.exit)
		}
	}
}

func TestExecute_GoPanicAndExitStatuses(t *testing.T) {
	e := newExecutor(t, nil)
	for _, tc := range []struct {
		args []string
		exit int
	}{
		{[]string{"exit", "0"}, 0},
		{[]string{"exit", "3"}, 3},
		{[]string{"exit", "125"}, 125},
		{[]string{"exit", "200"}, 255}, // bls-runtime accepts statuses below 126 only
		{[]string{"panic"}, 2},
	} {
		res, err := e.Execute(context.Background(), request(guest(t), tc.args...))
		if res.ExitCode != tc.exit || (err == nil) != (tc.exit == 0) {
			t.Errorf("%v: exit %d, err %v; want exit %d", tc.args, res.ExitCode, err, tc.exit)
		}
		if tc.exit != 0 && res.Code != messages.CodeError {
			t.Errorf("%v: code %s", tc.args, res.Code)
		}
	}
}

func TestExecute_RunTimeStopsAnEndlessLoop(t *testing.T) {
	e := newExecutor(t, nil)
	req := request(guest(t), "loop")
	req.RunTime = 300 * time.Millisecond
	res, err := e.Execute(context.Background(), req)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if res.Code != messages.CodeTimeout || res.ExitCode != ExitTimeout {
		t.Fatalf("result = %+v", res)
	}
	if res.Usage.WallClock < req.RunTime || res.Usage.WallClock > req.RunTime+5*time.Second {
		t.Fatalf("wall clock %s for a run time of %s", res.Usage.WallClock, req.RunTime)
	}
	if res.Usage.CPUUser <= 0 {
		t.Fatalf("a busy loop used no user CPU: %+v", res.Usage)
	}
}

func TestExecute_MaxRunTimeAppliesWithoutRequestRunTime(t *testing.T) {
	e := newExecutor(t, func(c *Config) { c.MaxRunTime = 200 * time.Millisecond })
	mod := writeModule(t, wasmModule(nil, []wasmFunc{{body: []byte{opLoop, 0x40, opBr, 0, opEnd}, export: "_start"}}, 0, false))
	req := request(mod)
	req.RunTime = time.Hour // capped by MaxRunTime
	res, err := e.Execute(context.Background(), req)
	if !errors.Is(err, ErrTimeout) || res.Code != messages.CodeTimeout || res.ExitCode != ExitTimeout {
		t.Fatalf("result %+v, err %v", res, err)
	}
}

func TestExecute_CancellingTheContextStopsTheGuest(t *testing.T) {
	e := newExecutor(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	res, err := e.Execute(ctx, request(guest(t), "loop"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Code != messages.CodeError || res.ExitCode != ExitInterrupted {
		t.Fatalf("result = %+v, want code 500 and exit %d (interrupted)", res, ExitInterrupted)
	}
}

// A caller's deadline (the worker passes its request's) stops a guest that sets no run time,
// well before MaxRunTime: a timeout, "408" with exit 15.
func TestExecute_TheCallersDeadlineStopsAGuestWithoutRunTime(t *testing.T) {
	e := newExecutor(t, func(c *Config) { c.MaxRunTime = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err := e.Execute(ctx, request(guest(t), "loop"))
	if !errors.Is(err, ErrTimeout) || res.Code != messages.CodeTimeout || res.ExitCode != ExitTimeout {
		t.Fatalf("result %+v, err %v; want 408 with exit %d", res, err, ExitTimeout)
	}
}

func TestExecute_LimitedMemoryStopsAGrower(t *testing.T) {
	e := newExecutor(t, nil)
	req := request(guest(t), "grow")
	req.MemoryLimitPages = 512 // 32 MiB
	res, err := e.Execute(context.Background(), req)
	if err == nil || res.Code != messages.CodeError || res.ExitCode == 0 {
		t.Fatalf("result = %+v, err %v", res, err)
	}
	if res.Usage.MemoryMaxKB > 512*64 || res.Usage.MemoryMaxKB < 16*1024 {
		t.Fatalf("peak memory %d KiB, want under the 32 MiB cap and near it", res.Usage.MemoryMaxKB)
	}
	if !strings.Contains(res.Stderr, "out of memory") {
		t.Fatalf("stderr = %q", res.Stderr)
	}
}

func TestExecute_DefaultMemoryLimitApplies(t *testing.T) {
	e := newExecutor(t, func(c *Config) { c.DefaultMemoryLimitPages = 256 })
	res, err := e.Execute(context.Background(), request(guest(t), "grow"))
	if err == nil || res.Usage.MemoryMaxKB > 256*64 {
		t.Fatalf("result = %+v, err %v", res, err)
	}
}

func TestExecute_MemoryMinimumOverTheLimitFailsToStart(t *testing.T) {
	e := newExecutor(t, nil)
	start := []wasmFunc{{export: "_start"}}
	for _, exported := range []bool{true, false} {
		req := request(writeModule(t, wasmModule(nil, start, 10, exported)))
		req.MemoryLimitPages = 5
		res, err := e.Execute(context.Background(), req)
		if !errors.Is(err, ErrMemoryLimit) || res.ExitCode != ExitMemoryLimit || res.Code != messages.CodeError {
			t.Errorf("exported memory %v: %+v, %v", exported, res, err)
		}
		req = request(req.ModulePath)
		req.MemoryLimitPages = 10
		if _, err := e.Execute(context.Background(), req); err != nil {
			t.Errorf("exported memory %v, limit = minimum: %v", exported, err)
		}
	}
}

func TestExecute_StdoutIsCappedAndFlagged(t *testing.T) {
	mib := "100"
	if testing.Short() {
		mib = "8"
	}
	e := newExecutor(t, nil) // 1 MiB cap
	res, err := e.Execute(context.Background(), request(guest(t), "flood", mib))
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	if len(res.Stdout) != 1<<20 || !res.StdoutTruncated {
		t.Fatalf("stdout %d bytes, truncated %v", len(res.Stdout), res.StdoutTruncated)
	}
	if res.Stderr != "done" || res.StderrTruncated {
		t.Fatalf("stderr %q, truncated %v", res.Stderr, res.StderrTruncated)
	}
}

func TestExecute_GuestCannotLeaveItsFSRoot(t *testing.T) {
	e := newExecutor(t, nil)
	req := request(guest(t), "escape")
	workDir := filepath.Join(e.cfg.Workspace, "t", req.RequestID)
	// A file next to the fs root and one at the workspace: neither reachable.
	if err := os.MkdirAll(filepath.Join(workDir, "fs"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(workDir, "secret"), filepath.Join(e.cfg.Workspace, "t", "secret")} {
		if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.Execute(context.Background(), req)
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	// errno 63 is WASI's EPERM: wazero refuses paths that leave the mount.
	want := strings.Join([]string{
		"etc-passwd: true",
		"open ../secret: errno=63",
		"open ../../secret: errno=63",
		"open /../secret: errno=63",
		"open fs/../../secret: errno=63",
		"symlink refused: true",
		"link read fails: true",
		"write inside: <nil>",
	}, "\n") + "\n"
	if res.Stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", res.Stdout, want)
	}
	if _, err := os.Stat(workDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("execution directory not removed: %v", err)
	}
}

// Every way a guest can grow its root stops at the quota with a failed write, which a Go guest
// sees as "no space left on device" (WASI's nospc) and exits on with its usual code; a guest
// that deletes what it wrote gets the room back. The metric counts each that hit the quota.
func TestExecute_DiskQuotaStopsAGuestThatFillsItsRoot(t *testing.T) {
	const quota = 1 << 20
	reg := prometheus.NewRegistry()
	e := newExecutor(t, func(c *Config) { c.MaxFSBytes = quota; c.Registerer = reg })
	g := guest(t)
	over := strconv.Itoa(4 * quota)
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"disk", "write", strconv.Itoa(quota / 2)}, true},
		{[]string{"disk", "write", over}, false},
		{[]string{"disk", "seek", over}, false},
		{[]string{"disk", "truncate", over}, false},
		{[]string{"disk", "files", strconv.Itoa(quota/entryCost + 1)}, false},
		{[]string{"disk", "churn", strconv.Itoa(quota / 2)}, true}, // 4 MiB written in all
	}
	refused := 0
	for _, tt := range tests {
		req := request(g, tt.args...)
		res, err := e.Execute(context.Background(), req)
		if tt.ok {
			if err != nil || res.Stdout != "ok" {
				t.Errorf("%v: %+v, %v; want ok", tt.args, res, err)
			}
			continue
		}
		refused++
		if err == nil || res.ExitCode != 1 || res.Code != messages.CodeError ||
			!strings.Contains(strings.ToLower(res.Stderr), "no space left on device") {
			t.Errorf("%v: exit %d, code %s, stderr %q; want exit 1 on \"no space left on device\"",
				tt.args, res.ExitCode, res.Code, res.Stderr)
		}
	}
	if got := testutil.ToFloat64(e.metrics.fsQuota); got != float64(refused) {
		t.Fatalf("b7s_executor_fs_quota_exceeded = %v, want %d", got, refused)
	}
}

func TestExecute_UnknownImportIsNamed(t *testing.T) {
	e := newExecutor(t, nil)
	mod := writeModule(t, wasmModule(
		[]wasmImport{{module: "env", name: "nope"}, {module: "blockless_http", name: "http_teleport"}},
		[]wasmFunc{{body: []byte{opCall, 0}, export: "_start"}}, 1, true))
	res, err := e.Execute(context.Background(), request(mod))
	if !errors.Is(err, ErrUnknownImport) {
		t.Fatalf("err = %v, want ErrUnknownImport", err)
	}
	for _, name := range []string{"env.nope", "blockless_http.http_teleport"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if res.Code != messages.CodeError || res.ExitCode != ExitLoadFailure {
		t.Fatalf("result = %+v", res)
	}
}

func TestExecute_ImportSignatureMismatchIsNamed(t *testing.T) {
	e := newExecutor(t, nil)
	mod := writeModule(t, wasmModule(
		[]wasmImport{{module: "blockless_http", name: "http_close"}}, // really (i32) -> i32
		[]wasmFunc{{body: []byte{opCall, 0}, export: "_start"}}, 1, true))
	res, err := e.Execute(context.Background(), request(mod))
	if err == nil || !strings.Contains(err.Error(), "http_close") || res.ExitCode != ExitLoadFailure {
		t.Fatalf("result %+v, err %v", res, err)
	}
}

func TestExecute_StubModulesLinkAndAnswer(t *testing.T) {
	e := newExecutor(t, nil)
	i1 := []byte{i32}
	var imports []wasmImport
	var body []byte
	// Call each stub with zeros; trap unless it returns its module's code.
	for i, s := range stubModules() {
		f := s.funcs[0]
		imports = append(imports, wasmImport{module: s.name, name: f.name, params: make([]byte, f.params), results: i1})
		for j := range imports[i].params {
			imports[i].params[j] = i32
		}
		for range f.params {
			body = append(body, opI32Const, 0)
		}
		body = append(body, opCall, byte(i), opI32Const, byte(s.code), opI32Ne,
			opIf, blockEmpty, opUnreachable, opEnd) // if (result != code) unreachable
	}
	mod := writeModule(t, wasmModule(imports, []wasmFunc{{body: body, export: "_start"}}, 1, true))
	if res, err := e.Execute(context.Background(), request(mod)); err != nil {
		t.Fatalf("result %+v, err %v", res, err)
	}
}

func TestExecute_EntryNamesAnExportOrFallsBackToStart(t *testing.T) {
	e := newExecutor(t, nil)
	mod := writeModule(t, wasmModule(nil, []wasmFunc{
		{body: []byte{opUnreachable}, export: "_start"},
		{export: "main"},
	}, 1, true))
	req := request(mod)
	req.Entry = "main"
	if res, err := e.Execute(context.Background(), req); err != nil {
		t.Fatalf("entry main: %+v, %v", res, err)
	}
	req = request(mod)
	req.Entry = "absent"
	if res, _ := e.Execute(context.Background(), req); res.ExitCode != 11 {
		t.Fatalf("entry absent should call _start (unreachable, 11): %+v", res)
	}
}

func TestExecute_UnreadableModuleFailsToLoad(t *testing.T) {
	e := newExecutor(t, nil)
	for name, path := range map[string]string{
		"missing": filepath.Join(t.TempDir(), "absent.wasm"),
		"invalid": writeModule(t, []byte("not wasm at all")),
	} {
		req := request(path)
		workDir := filepath.Join(e.cfg.Workspace, "t", req.RequestID)
		if err := os.MkdirAll(filepath.Join(workDir, "fs"), 0o700); err != nil {
			t.Fatal(err)
		}
		res, err := e.Execute(context.Background(), req)
		if err == nil || res.Code != messages.CodeError || res.ExitCode != ExitLoadFailure {
			t.Errorf("%s: %+v, %v", name, res, err)
		}
		if _, err := os.Stat(workDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a prepared execution directory was left behind: %v", name, err)
		}
	}
}

func TestExecute_RejectsRequestIDsThatAreNotANameAndFuelIsAccepted(t *testing.T) {
	e := newExecutor(t, nil)
	for _, id := range []string{"", ".", "..", "../x", "a/b"} {
		req := request(hello(t))
		req.RequestID = id
		if res, err := e.Execute(context.Background(), req); err == nil || res.Code != messages.CodeError {
			t.Errorf("request id %q accepted", id)
		}
	}
	req := request(hello(t))
	req.Fuel = 200000000
	if res, err := e.Execute(context.Background(), req); err != nil || res.Stdout != helloOut {
		t.Fatalf("fuel: %+v, %v", res, err)
	}
}

func TestExecute_AfterCloseFailsAndCloseStopsRunningGuests(t *testing.T) {
	e := newExecutor(t, nil)
	g := guest(t)
	if _, err := e.Execute(context.Background(), request(g, "exit", "0")); err != nil { // compiled, warm
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		req := request(g, "loop")
		req.RunTime = time.Minute
		_, err := e.Execute(context.Background(), req)
		done <- err
	}()
	if err := e.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a guest loop survived Close")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not stop the running guest")
	}
	if _, err := e.Execute(context.Background(), request(hello(t))); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
