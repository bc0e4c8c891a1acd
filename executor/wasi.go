package executor

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// WASI errno values (wasi_snapshot_preview1's errno enum).
const (
	wasiErrnoIO    = 29 // io
	wasiErrnoNoSpc = 51 // nospc
)

// quotaFunctions are the WASI functions that can grow the filesystem, and so be refused by the
// disk quota.
var quotaFunctions = []string{
	"fd_write", "fd_pwrite", "fd_allocate", "fd_filestat_set_size",
	"path_open", "path_create_directory", "path_link",
}

// instantiateWASI adds wazero's wasi_snapshot_preview1 to the runtime, with one change: a call
// the disk quota refused returns nospc to the guest, the errno of a full disk.
//
// wazero's sys.Errno has no ENOSPC (a real full disk reaches a guest as io), so the quota's
// refusal leaves wazero as EIO and is told apart by the execution's quota, which remembers
// that it refused: only that call's io becomes nospc. The functions are wazero's own, taken
// from its exported definitions and re-exported; only the quota's are wrapped.
func instantiateWASI(ctx context.Context, rt wazero.Runtime) error {
	name := wasi_snapshot_preview1.ModuleName
	exporter := wasi_snapshot_preview1.NewFunctionExporter()

	plain := rt.NewHostModuleBuilder(name)
	exporter.ExportFunctions(plain)
	compiled, err := plain.Compile(ctx)
	if err != nil {
		return fmt.Errorf("compile wasi: %w", err)
	}
	defs := compiled.ExportedFunctions()
	_ = compiled.Close(ctx)

	b := rt.NewHostModuleBuilder(name)
	exporter.ExportFunctions(b)
	for _, fn := range quotaFunctions {
		def, ok := defs[fn]
		if !ok {
			return fmt.Errorf("wasi has no %s", fn)
		}
		inner, ok := def.GoFunction().(api.GoModuleFunction)
		if !ok {
			return fmt.Errorf("wasi %s is not a Go module function", fn)
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(noSpaceOnRefusal{inner}, def.ParamTypes(), def.ResultTypes()).
			WithParameterNames(def.ParamNames()...).
			WithResultNames(def.ResultNames()...).
			Export(fn)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate wasi: %w", err)
	}
	return nil
}

// noSpaceOnRefusal calls a WASI function and turns its io errno into nospc when the calling
// execution's disk quota refused the call.
type noSpaceOnRefusal struct{ inner api.GoModuleFunction }

func (f noSpaceOnRefusal) Call(ctx context.Context, mod api.Module, stack []uint64) {
	st := execStateFrom(ctx)
	if st == nil || st.fs == nil {
		f.inner.Call(ctx, mod, stack)
		return
	}
	st.fs.refused = false
	f.inner.Call(ctx, mod, stack)
	if st.fs.refused && stack[0] == wasiErrnoIO {
		stack[0] = wasiErrnoNoSpc
	}
}
