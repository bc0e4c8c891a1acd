package executor

import (
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// entryFunction is _start, or the request's entry when the module exports it
// as a () -> () function. bls-runtime always calls _start (its --entry names a
// file for a bare .wasm); honouring an entry that exists is the useful reading.
// A reactor's _initialize runs first.
func (e *Executor) entryFunction(mod api.Module, entry string) api.Function {
	if entry != "" && entry != "_start" {
		if fn := mod.ExportedFunction(entry); fn != nil &&
			len(fn.Definition().ParamTypes()) == 0 && len(fn.Definition().ResultTypes()) == 0 {
			if init := mod.ExportedFunction("_initialize"); init != nil {
				return &initThen{Function: fn, init: init, fn: fn}
			}
			return fn
		}
		e.log.Debug().Str("entry", entry).Msg("entry is not an exported () -> () function; calling _start")
	}
	return mod.ExportedFunction("_start")
}

// initThen calls a reactor's _initialize before the entry.
type initThen struct {
	api.Function
	init, fn api.Function
}

func (f *initThen) Call(ctx context.Context, params ...uint64) ([]uint64, error) {
	if _, err := f.init.Call(ctx); err != nil {
		return nil, err
	}
	return f.fn.Call(ctx, params...)
}

// moduleConfig is the guest's WASI view: argv, environment, output, fs root.
func (e *Executor) moduleConfig(req Request, root *fsRoot, stdout, stderr *cappedBuffer) wazero.ModuleConfig {
	argv := make([]string, 0, len(req.Args)+1)
	argv = append(argv, filepath.Base(req.ModulePath))
	for _, a := range req.Args {
		if a != "" {
			argv = append(argv, a)
		}
	}
	cfg := e.modCfg.WithArgs(argv...).
		WithStdout(stdout).
		WithStderr(stderr).
		WithFSConfig(guestFS(root))
	for _, kv := range wasiEnv(req.Env) {
		cfg = cfg.WithEnv(kv.Name, kv.Value)
	}
	if req.Fuel > 0 {
		cfg = cfg.WithRandSource(requestRand(req))
	}
	return cfg
}

// requestRand is the random source of a metered execution: a stream seeded by the request and
// the function. Fuel is only deterministic if what the guest computes is, and language
// runtimes draw on random_get by themselves (Go seeds its maps from it), so every worker of one
// request sees the same stream and stops at the same operator. Its randomness is predictable
// from the request, which is what agreement between workers needs; an unmetered execution keeps
// real randomness.
func requestRand(req Request) io.Reader {
	seed := sha256.Sum256([]byte("b7s fuel random\x00" + req.FunctionID + "\x00" + req.RequestID))
	return rand.NewChaCha8(seed)
}

// wasiEnv is the guest's WASI environment: the request variables (a later
// duplicate wins) and BLS_LIST_VARS, never the node's own environment. The
// reference gives these only through env_var_read; WASI is a superset.
// Names WASI cannot carry (empty, with '=' or NUL) are left to env_var_read.
func wasiEnv(env []EnvVar) []EnvVar {
	names := make([]string, 0, len(env))
	index := make(map[string]int, len(env))
	var out []EnvVar
	for _, v := range env {
		names = append(names, v.Name)
		if v.Name == "" || strings.ContainsAny(v.Name, "=\x00") || strings.ContainsRune(v.Value, 0) {
			continue
		}
		if i, ok := index[v.Name]; ok {
			out[i].Value = v.Value
			continue
		}
		index[v.Name] = len(out)
		out = append(out, v)
	}
	return append(out, EnvVar{Name: "BLS_LIST_VARS", Value: strings.Join(names, ";")})
}
