package executor

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/internal/check"
	"github.com/b7s-actor/b7s/messages"
)

// DisableCompilationCache as Config.CompilationCacheDir turns the on-disk
// compilation cache off.
const DisableCompilationCache = "-"

// maxMemoryPages is the wasm32 ceiling: 65536 pages of 64 KiB = 4 GiB.
const maxMemoryPages = 65536

// wasmPageSize is the size of a WebAssembly memory page.
const wasmPageSize = 65536

// Config configures an Executor. Start from DefaultConfig.
type Config struct {
	// Workspace is the node's workspace. Per-execution filesystem roots live
	// under <Workspace>/t/<RequestID>/fs.
	Workspace string
	// CompilationCacheDir holds wazero's on-disk compilation cache. Empty means
	// <Workspace>/.cache/wazero; DisableCompilationCache ("-") disables it.
	CompilationCacheDir string
	// MaxCompiledModules bounds the in-memory cache of compiled functions.
	MaxCompiledModules int
	// MaxOutputBytes caps stdout and stderr, each. Output past the cap is
	// dropped and the result is flagged as truncated.
	MaxOutputBytes int
	// DefaultMemoryLimitPages caps guest memory (64 KiB pages) when the
	// request sets no limited_memory.
	DefaultMemoryLimitPages uint32
	// MaxRunTime is the node-side safety limit on an execution's wall time.
	// It applies when the request sets no run_time, and caps one that does.
	MaxRunTime time.Duration
	// MaxFSBytes is each execution's disk quota: how far the guest may grow its filesystem
	// root (bytes written past the files' sizes, plus 4 KiB per file or directory it makes).
	// A write past it fails with WASI's nospc, as on a full disk. 0: the guest may add nothing.
	MaxFSBytes int64
	// MemoryBudget is the guest memory all running executions may reserve together, in
	// bytes: each reserves its memory limit (limited_memory, else DefaultMemoryLimitPages)
	// before it starts (Reservation, Budget; the worker's admission holds to it). 0: half of
	// the memory the process may use (internal/machine: physical memory or a lower cgroup
	// limit), at least one execution's default.
	MemoryBudget int64
	// FSBudget is the disk all running executions may reserve together, in bytes: each
	// reserves MaxFSBytes. 0: half of the space free on the workspace's filesystem when the
	// executor starts, at least one execution's quota.
	FSBudget int64
	// HTTP bounds the blockless_http host module.
	HTTP HTTPConfig
	// Logger receives the executor's log lines.
	Logger zerolog.Logger
	// Registerer receives the executor metrics, named as the original b7s
	// node's. Nil: no metrics.
	Registerer prometheus.Registerer
}

// HTTPConfig bounds the blockless_http host module.
type HTTPConfig struct {
	// MaxSessions is the number of responses a single execution may hold
	// open at once; http_req past it returns too_many_sessions (12).
	MaxSessions int
	// MaxBodyBytes caps what a guest can read from one response body; the
	// body ends (a read of 0 bytes) at the cap.
	MaxBodyBytes int64
	// RequestTimeout caps each request's total time (connect, headers and
	// body), whatever the guest's readTimeout says.
	RequestTimeout time.Duration
	// Transport sends the requests. Nil: an http.Transport that honours the
	// guest's connectTimeout and does not decompress bodies.
	Transport http.RoundTripper
}

// DefaultConfig returns the defaults; the caller still has to set Workspace.
func DefaultConfig() Config {
	return Config{
		MaxCompiledModules:      64,
		MaxOutputBytes:          messages.DefaultMaxOutputBytes,
		DefaultMemoryLimitPages: 4096, // 256 MiB
		MaxRunTime:              60 * time.Second,
		// A function's root is scratch space for one run (its answer is its output, capped at
		// MaxOutputBytes); 64 MiB is room for real work, and ten at once stay under 1 GiB.
		MaxFSBytes: 64 << 20,
		HTTP: HTTPConfig{
			MaxSessions:    16,
			MaxBodyBytes:   16 << 20,
			RequestTimeout: 60 * time.Second,
		},
		Logger: zerolog.Nop(),
	}
}

// Validate reports every setting that is out of bounds.
func (c Config) Validate() error {
	var workspace error
	if c.Workspace != "" && !filepath.IsAbs(c.Workspace) {
		workspace = fmt.Errorf("Workspace: %q is not an absolute path", c.Workspace)
	}
	if err := errors.Join(
		check.Set("Workspace", c.Workspace),
		workspace,
		check.Min("MaxCompiledModules", c.MaxCompiledModules, 1),
		check.Min("MaxOutputBytes", c.MaxOutputBytes, 1),
		check.Range("DefaultMemoryLimitPages", c.DefaultMemoryLimitPages, 1, maxMemoryPages),
		check.Min("MaxRunTime", c.MaxRunTime, time.Millisecond),
		check.Min("MaxFSBytes", c.MaxFSBytes, 0),
		check.Min("MemoryBudget", c.MemoryBudget, 0),
		check.Min("FSBudget", c.FSBudget, 0),
		c.budgetCovers("MemoryBudget", c.MemoryBudget, int64(c.DefaultMemoryLimitPages)*wasmPageSize, "DefaultMemoryLimitPages"),
		c.budgetCovers("FSBudget", c.FSBudget, c.MaxFSBytes, "MaxFSBytes"),
		check.Min("HTTP.MaxSessions", c.HTTP.MaxSessions, 1),
		check.Min("HTTP.MaxBodyBytes", c.HTTP.MaxBodyBytes, 1),
		check.Min("HTTP.RequestTimeout", c.HTTP.RequestTimeout, time.Millisecond),
	); err != nil {
		return fmt.Errorf("executor config: %w", err)
	}
	return nil
}

// budgetCovers fails when a budget that is set (not 0, derived) cannot hold one execution.
func (c Config) budgetCovers(key string, budget, one int64, oneKey string) error {
	if budget == 0 {
		return nil
	}
	if budget < one {
		return fmt.Errorf("%s: %d is below one execution's %s (%d bytes)", key, budget, oneKey, one)
	}
	return nil
}

// cacheDir resolves CompilationCacheDir: "" when disabled.
func (c Config) cacheDir() string {
	switch c.CompilationCacheDir {
	case DisableCompilationCache:
		return ""
	case "":
		return filepath.Join(c.Workspace, ".cache", "wazero")
	default:
		return c.CompilationCacheDir
	}
}
