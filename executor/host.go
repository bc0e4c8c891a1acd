package executor

import (
	"context"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// execState is what the host modules know about the execution calling them.
// It travels in the context of the guest call; only the goroutine running the
// guest touches it.
type execState struct {
	stdin   []byte // the request's stdin, the same for every read
	envJSON []byte // env_var_read's answer
	perms   []string
	http    *httpSessions
	fs      *fsQuota // the execution's disk quota
}

type execStateKey struct{}

func withExecState(ctx context.Context, st *execState) context.Context {
	return context.WithValue(ctx, execStateKey{}, st)
}

func execStateFrom(ctx context.Context) *execState {
	st, _ := ctx.Value(execStateKey{}).(*execState)
	return st
}

// hostFunc is a Blockless host function: all parameters and the result are i32
// (witx lowered to core wasm). It returns the function's error code.
type hostFunc func(ctx context.Context, st *execState, mem api.Memory, p []uint32) uint32

// hostFuncDef declares one export of a host module.
type hostFuncDef struct {
	name   string
	params int
	fn     hostFunc
}

// instantiateHostModule adds one host module to the runtime. A call without an
// execution state (never expected) returns failCode.
func instantiateHostModule(ctx context.Context, rt wazero.Runtime, module string, failCode uint32, defs []hostFuncDef) error {
	b := rt.NewHostModuleBuilder(module)
	for _, d := range defs {
		params := make([]api.ValueType, d.params)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		fn, n := d.fn, d.params
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
			st := execStateFrom(ctx)
			if st == nil {
				stack[0] = uint64(failCode)
				return
			}
			var p [8]uint32
			for i := 0; i < n; i++ {
				p[i] = api.DecodeU32(stack[i])
			}
			stack[0] = uint64(fn(ctx, st, m.Memory(), p[:n]))
		}), params, []api.ValueType{api.ValueTypeI32}).Export(d.name)
	}
	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate host module %s: %w", module, err)
	}
	return nil
}

// permitted is the bls-runtime permission rule: the URL, folded to
// ASCII lower case, must begin with one of the permissions as written.
func permitted(url string, perms []string) bool {
	lower := asciiLower(url)
	for _, p := range perms {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

// asciiLower folds A-Z only, like Rust's to_ascii_lowercase.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
