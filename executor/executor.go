package executor

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/b7s-actor/b7s/executor/fuel"
	"github.com/b7s-actor/b7s/messages"
)

// Errors an execution can be matched against with errors.Is.
var (
	// ErrClosed: the executor was closed.
	ErrClosed = errors.New("executor closed")
	// ErrRequestInFlight: an execution with the same request ID is running.
	ErrRequestInFlight = errors.New("request already executing")
	// ErrUnknownImport: the module imports something no host module provides.
	ErrUnknownImport = errors.New("unknown import")
	// ErrMemoryLimit: the module's minimum memory is over the execution's limit.
	ErrMemoryLimit = errors.New("module memory exceeds the limit")
	// ErrTimeout: the run time (or the node's MaxRunTime) ran out.
	ErrTimeout = errors.New("run time exceeded")
	// ErrExitStatus: the guest exited non-zero or trapped.
	ErrExitStatus = errors.New("function failed")
	// ErrFuelExhausted: the guest ran out of the request's limited_fuel.
	ErrFuelExhausted = errors.New("fuel exhausted")
	// ErrFuelUnsupported: the request sets limited_fuel and the module cannot
	// be instrumented for it; it is not run unmetered.
	ErrFuelUnsupported = errors.New("module cannot be metered for fuel")
	// ErrBadModule: the module's structure is broken (counts past their sections, sections out
	// of order); refused before the compiler allocates by its counts.
	ErrBadModule = errors.New("malformed module")
)

// Executor runs functions. It is safe for concurrent use.
type Executor struct {
	cfg     Config
	log     zerolog.Logger
	rt      wazero.Runtime
	cache   wazero.CompilationCache // nil when disabled
	modules *moduleCache
	imports map[string]map[string]bool // what the host modules export
	modCfg  wazero.ModuleConfig        // the per-execution parts are added to it
	client  *http.Client
	metrics *metrics
	memPool memoryPool
	onHeap  atomic.Int64 // bytes of guest memory on the Go heap, across executions
	budget  Reservation  // what running executions may reserve together

	running sync.Map // request ID -> struct{}: executions in flight

	// mu orders Execute's admission against Close.
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
	closing  context.Context // done when Close starts: running guests stop
	stop     context.CancelFunc
}

// New builds an executor: one wazero runtime with WASI and the Blockless host
// modules, and the compilation caches.
func New(cfg Config) (*Executor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx := context.Background()
	e := &Executor{cfg: cfg, log: cfg.Logger.With().Str("component", "executor").Logger()}

	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		// DWARF makes every proc_exit and trap parse line tables (~30 ms for
		// a 700 KB TinyGo program); traps still name their functions without it.
		WithDebugInfoEnabled(false).
		WithMemoryLimitPages(maxMemoryPages) // the per-execution cap is the allocator's (memory.go)
	if dir := cfg.cacheDir(); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create compilation cache dir: %w", err)
		}
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, fmt.Errorf("open compilation cache %s: %w", dir, err)
		}
		e.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	e.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if err := e.instantiateHostModules(ctx); err != nil {
		_ = e.closeRuntime(ctx)
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		_ = e.closeRuntime(ctx)
		return nil, err
	}
	e.metrics = m
	e.budget = e.resolveBudget()
	e.modules = newModuleCache(cfg.MaxCompiledModules, e.compile)
	e.client = newHTTPClient(cfg.HTTP)
	e.modCfg = wazero.NewModuleConfig().
		WithName(""). // anonymous: any number of instances at once
		WithStartFunctions().
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	e.closing, e.stop = context.WithCancel(ctx)
	return e, nil
}

func (e *Executor) instantiateHostModules(ctx context.Context) error {
	if err := instantiateWASI(ctx, e.rt); err != nil {
		return err
	}
	if err := instantiateHostModule(ctx, e.rt, "blockless_http", httpRuntimeError, blocklessHTTP()); err != nil {
		return err
	}
	if err := instantiateHostModule(ctx, e.rt, "blockless_memory", memRuntimeError, blocklessMemory()); err != nil {
		return err
	}
	for _, s := range stubModules() {
		if err := instantiateHostModule(ctx, e.rt, s.name, s.code, s.defs()); err != nil {
			return err
		}
	}
	e.imports = make(map[string]map[string]bool)
	for _, name := range append([]string{wasi_snapshot_preview1.ModuleName, "blockless_http", "blockless_memory"}, stubNames()...) {
		fns := make(map[string]bool)
		for fn := range e.rt.Module(name).ExportedFunctionDefinitions() {
			fns[fn] = true
		}
		e.imports[name] = fns
	}
	return nil
}

func stubNames() []string {
	var names []string
	for _, s := range stubModules() {
		names = append(names, s.name)
	}
	return names
}

// compile reads and compiles one module, instrumented for fuel when
// key.metered, checks that every import resolves and finds the largest
// declared memory minimum.
func (e *Executor) compile(ctx context.Context, key moduleKey) (compiledCode, error) {
	path := key.path
	bin, err := os.ReadFile(path)
	if err != nil {
		return compiledCode{}, fmt.Errorf("read module: %w", err)
	}
	start := time.Now()
	code := compiledCode{}
	plain := bin
	if err := fuel.CheckStructure(bin); err != nil {
		return compiledCode{}, fmt.Errorf("%w: %s: %w", ErrBadModule, filepath.Base(path), err)
	}
	if key.metered {
		// A module the rewrite cannot handle is refused: it never runs unmetered.
		inst, err := fuel.Instrument(bin)
		if err != nil {
			return compiledCode{}, fmt.Errorf("%w: %s: %w", ErrFuelUnsupported, filepath.Base(path), err)
		}
		bin, code.hasStart = inst.Binary, inst.HasStart
	}
	ctx = experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0))
	mod, err := e.rt.CompileModule(ctx, bin)
	if err != nil {
		return compiledCode{}, fmt.Errorf("compile module %s: %w", filepath.Base(path), err)
	}
	if err := e.checkImports(mod); err != nil {
		_ = mod.Close(ctx)
		return compiledCode{}, err
	}
	// The module compiled, so its memory section parses; a failure here leaves the
	// exported memories' minimum as the check.
	code.minPages, _ = declaredMinPages(plain)
	for _, m := range mod.ExportedMemories() {
		code.minPages = max(code.minPages, m.Min())
	}
	code.mod = mod
	e.log.Debug().Str("module", path).Bool("metered", key.metered).Dur("took", time.Since(start)).Msg("compiled function")
	return code, nil
}

// checkImports names every import no host module provides; wazero alone
// would only say that a module is not instantiated.
func (e *Executor) checkImports(mod wazero.CompiledModule) error {
	var missing []string
	for _, f := range mod.ImportedFunctions() {
		module, name, _ := f.Import()
		if !e.imports[module][name] {
			missing = append(missing, fmt.Sprintf("function %s.%s", module, name))
		}
	}
	for _, m := range mod.ImportedMemories() {
		module, name, _ := m.Import()
		missing = append(missing, fmt.Sprintf("memory %s.%s", module, name))
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%w: %s", ErrUnknownImport, strings.Join(missing, ", "))
	}
	return nil
}

// Execute runs one function. The Result is always filled; the error is
// non-nil, and names the function, whenever the code is not 200. Cancelling
// ctx stops the guest.
func (e *Executor) Execute(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	res, err := e.execute(ctx, req)
	res.Usage.WallClock = time.Since(start)
	if err != nil {
		res.Code = messages.CodeError
		if errors.Is(err, ErrTimeout) {
			res.Code = messages.CodeTimeout
		}
		err = fmt.Errorf("execute function %s: %w", req.FunctionID, err)
	} else {
		res.Code = messages.CodeOK
	}
	e.metrics.observe(req.FunctionID, res, errors.Is(err, ErrFuelExhausted))
	return res, err
}

func (e *Executor) execute(ctx context.Context, req Request) (Result, error) {
	fail := func(exit int, err error) (Result, error) { return Result{ExitCode: exit}, err }

	e.mu.RLock()
	if e.closed {
		e.mu.RUnlock()
		return fail(ExitLoadFailure, ErrClosed)
	}
	e.inflight.Add(1)
	e.mu.RUnlock()
	defer e.inflight.Done()

	workDir, err := e.workDir(req.RequestID)
	if err != nil {
		return fail(ExitLoadFailure, err)
	}
	if _, dup := e.running.LoadOrStore(req.RequestID, struct{}{}); dup {
		return fail(ExitLoadFailure, fmt.Errorf("%w: %s", ErrRequestInFlight, req.RequestID))
	}
	defer e.running.Delete(req.RequestID)
	defer func() {
		// Also when the guest never created it: the caller may have.
		if err := os.RemoveAll(workDir); err != nil {
			e.log.Warn().Err(err).Str("dir", workDir).Msg("remove execution directory")
		}
	}()

	fn, err := e.modules.acquire(ctx, moduleKey{path: req.ModulePath, metered: req.Fuel > 0})
	if err != nil {
		return fail(ExitLoadFailure, err)
	}
	defer e.modules.release(fn)

	limit := e.memoryLimitPages(req)
	if fn.minPages > limit {
		return fail(ExitMemoryLimit, fmt.Errorf("%w: minimum %d pages, limit %d", ErrMemoryLimit, fn.minPages, limit))
	}

	root := newFSRoot(workDir, e.cfg.MaxFSBytes)
	runCtx, cancel := context.WithTimeout(ctx, e.runTimeout(req))
	defer cancel()
	stopOnClose := context.AfterFunc(e.closing, cancel)
	defer stopOnClose()

	st := &execState{
		envJSON: envVarJSON(req.Env),
		perms:   req.Permissions,
		http:    newHTTPSessions(e.client, e.cfg.HTTP),
		fs:      root.quota,
	}
	defer st.http.closeAll()
	stdout := &cappedBuffer{limit: e.cfg.MaxOutputBytes}
	stderr := &cappedBuffer{limit: e.cfg.MaxOutputBytes}
	modCfg := e.moduleConfig(req, root, stdout, stderr)
	if req.Stdin != nil {
		st.stdin = []byte(*req.Stdin)
		modCfg = modCfg.WithStdin(strings.NewReader(*req.Stdin))
	}
	mem := newMemoryCap(limit, &e.memPool, &e.onHeap)
	callCtx := withExecState(experimental.WithMemoryAllocator(runCtx, mem), st)

	exit, usage, err := e.run(callCtx, fn, modCfg, req, mem)
	if root.quota.exceeded {
		e.metrics.fsQuotaExceeded()
		e.log.Debug().Str("request", req.RequestID).Str("function", req.FunctionID).Int64("max_fs_bytes", e.cfg.MaxFSBytes).
			Msg("the function reached its disk quota")
	}
	res := Result{
		ExitCode:        exit,
		Stdout:          stdout.String(),
		Stderr:          stderr.String(),
		StdoutTruncated: stdout.truncated,
		StderrTruncated: stderr.truncated,
		Usage:           usage,
	}
	if errors.Is(err, ErrFuelExhausted) {
		// As bls-runtime's log line: that fuel ran out, and how much was used.
		msg := fmt.Sprintf("fuel exhausted: consumed %d of %d", usage.FuelConsumed, req.Fuel)
		if res.Stderr != "" && !strings.HasSuffix(res.Stderr, "\n") {
			res.Stderr += "\n"
		}
		res.Stderr += msg + "\n"
		e.log.Info().Str("request", req.RequestID).Str("function", req.FunctionID).
			Uint64("fuel", req.Fuel).Uint64("consumed", usage.FuelConsumed).Msg("fuel exhausted")
	}
	return res, err
}

// run instantiates the module and calls its entry on a locked OS thread, so
// the thread's CPU time is the execution's. A metered module gets the
// request's fuel before any of its code runs.
func (e *Executor) run(ctx context.Context, fn *compiled, modCfg wazero.ModuleConfig,
	req Request, mem *memoryCap) (exit int, usage Usage, err error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	user0, sys0 := threadCPU()
	var meter *fuel.Meter
	defer func() {
		user1, sys1 := threadCPU()
		usage.CPUUser, usage.CPUSys = user1-user0, sys1-sys0
		usage.MemoryMaxKB = mem.peakKB()
		if meter != nil {
			usage.FuelConsumed = meter.Consumed()
		}
	}()

	mod, err := e.rt.InstantiateModule(ctx, fn.mod, modCfg)
	if err != nil {
		if ctx.Err() != nil {
			return stoppedExit(ctx), usage, timeoutError(ctx, err)
		}
		return ExitLoadFailure, usage, fmt.Errorf("instantiate: %w", err)
	}
	defer mod.Close(context.Background())
	if mem.overLimit {
		return ExitMemoryLimit, usage, fmt.Errorf("%w: %d KiB, limit %d KiB", ErrMemoryLimit, mem.peakKB(), mem.limit/1024)
	}
	if fn.key.metered {
		if meter, err = fuel.Arm(mod, req.Fuel); err != nil {
			return ExitLoadFailure, usage, fmt.Errorf("instantiate: %w", err)
		}
		// The start function runs here, not during instantiation, so that it
		// is metered; a failure is still the instantiation's.
		if err := fuel.Start(ctx, mod); err != nil {
			exit, err = callOutcome(ctx, err, meter, ExitLoadFailure)
			return exit, usage, err
		}
	}

	entry := e.entryFunction(mod, req.Entry)
	if entry == nil {
		return ExitLoadFailure, usage, errors.New("module exports no _start function")
	}
	_, err = entry.Call(ctx)
	exit, err = callOutcome(ctx, err, meter, 0)
	return exit, usage, err
}

// callOutcome maps the error of a guest call to its exit code and error.
// failExit, when not 0, replaces the exit code of a failure that is neither
// fuel nor time running out.
func callOutcome(ctx context.Context, err error, meter *fuel.Meter, failExit int) (int, error) {
	exit := exitCodeOf(err)
	switch {
	case exit == ExitOK:
		return exit, nil
	case meter != nil && meter.Exhausted():
		return ExitFuelExhausted, fmt.Errorf("%w: exit code %d: consumed %d of %d",
			ErrFuelExhausted, ExitFuelExhausted, meter.Consumed(), meter.Limit())
	case (exit == ExitTimeout || exit == ExitInterrupted) && ctx.Err() != nil:
		return exit, timeoutError(ctx, err)
	case failExit != 0:
		return failExit, fmt.Errorf("instantiate: %w", err)
	default:
		return exit, fmt.Errorf("%w: exit code %d: %w", ErrExitStatus, exit, err)
	}
}

// stoppedExit is the exit code of a guest stopped by ctx: its deadline (timeout) or a cancel.
func stoppedExit(ctx context.Context) int {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ExitTimeout
	}
	return ExitInterrupted
}

// timeoutError says why the guest was stopped: its run time, or the caller.
func timeoutError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("stopped: %w", context.Cause(ctx))
}

// runTimeout is the request's run time, capped by the node's MaxRunTime.
func (e *Executor) runTimeout(req Request) time.Duration {
	if req.RunTime > 0 && req.RunTime < e.cfg.MaxRunTime {
		return req.RunTime
	}
	return e.cfg.MaxRunTime
}

// Close stops running guests, waits for their executions to return, and
// releases the runtime and caches. The on-disk cache stays for the next start.
func (e *Executor) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()

	e.stop()
	e.inflight.Wait()
	e.modules.closeAll()
	if t, ok := e.client.Transport.(interface{ CloseIdleConnections() }); ok && e.cfg.HTTP.Transport == nil {
		t.CloseIdleConnections()
	}
	return e.closeRuntime(ctx)
}

func (e *Executor) closeRuntime(ctx context.Context) error {
	err := e.rt.Close(ctx)
	if e.cache != nil {
		err = errors.Join(err, e.cache.Close(ctx))
	}
	if err != nil {
		return fmt.Errorf("close executor: %w", err)
	}
	return nil
}

// GuestHeapBytes is how much guest memory running executions hold on the Go heap now. Large
// memories live outside the heap and do not count; the node adds this to its memory limit.
func (e *Executor) GuestHeapBytes() int64 { return e.onHeap.Load() }
