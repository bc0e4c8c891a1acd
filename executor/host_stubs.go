package executor

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// stubModule is a Blockless host module we do not implement: its functions
// exist with the right signatures, so modules importing them still link, and
// every call returns the module's "runtime error" (or nearest) code.
type stubModule struct {
	name  string
	code  uint32
	funcs []stubFunc
}

type stubFunc struct {
	name   string
	params int
}

// stubModules are blockless_drivers, _cgi, _s3, _ipfs and _socket, with the
// signatures of bls-runtime's witx files.
func stubModules() []stubModule {
	return []stubModule{
		{"blockless_drivers", 13 /* errno unknown */, []stubFunc{{"blockless_open", 5}}},
		{"blockless_cgi", 2 /* runtime_error */, []stubFunc{{"cgi_list_exec", 1}, {"cgi_list_read", 4}, {"cgi_open", 3}, {"cgi_stdout_read", 4},
			{"cgi_stderr_read", 4}, {"cgi_stdin_write", 4}, {"cgi_close", 1}}},
		{"blockless_s3", 9 /* runtime_error */, []stubFunc{{"bucket_command", 4}, {"bucket_put_object", 4}, {"s3_read", 4}, {"s3_close", 1}}},
		{"blockless_ipfs", 7 /* runtime_error */, []stubFunc{{"ipfs_command", 4}, {"ipfs_read", 4}, {"ipfs_write", 4}, {"ipfs_close", 1}}},
		{"blockless_socket", 2 /* connection_refused */, []stubFunc{{"create_tcp_bind_socket", 3}, {"tcp_connect", 3}}},
	}
}

func (s stubModule) defs() []hostFuncDef {
	code := s.code
	defs := make([]hostFuncDef, 0, len(s.funcs))
	for _, f := range s.funcs {
		defs = append(defs, hostFuncDef{f.name, f.params,
			func(context.Context, *execState, api.Memory, []uint32) uint32 { return code }})
	}
	return defs
}
