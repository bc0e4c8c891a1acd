package executor

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// blockless_memory error codes, the witx enum of bls-runtime.
const (
	memOK               = 0
	memRuntimeError     = 2
	memInvalidParameter = 3
)

// blocklessMemory is the blockless_memory host module: the fixed stdin and the
// request environment, each copied whole into a guest buffer.
func blocklessMemory() []hostFuncDef {
	return []hostFuncDef{
		{"memory_read", 3, func(_ context.Context, st *execState, mem api.Memory, p []uint32) uint32 {
			return copyWhole(mem, st.stdin, p[0], p[1], p[2])
		}},
		{"env_var_read", 3, func(_ context.Context, st *execState, mem api.Memory, p []uint32) uint32 {
			return copyWhole(mem, st.envJSON, p[0], p[1], p[2])
		}},
	}
}

// copyWhole writes all of data to buf and its length to numOut. The reference
// host panics (exit 101) when data is longer than the buffer; we return
// runtime_error and write nothing, so the guest can retry with a larger one.
func copyWhole(mem api.Memory, data []byte, buf, bufLen, numOut uint32) uint32 {
	switch {
	case bufLen == 0:
		return memInvalidParameter
	case uint64(len(data)) > uint64(bufLen):
		return memRuntimeError
	case !mem.Write(buf, data), !mem.WriteUint32Le(numOut, uint32(len(data))):
		return memRuntimeError
	}
	return memOK
}

// envVarJSON builds env_var_read's answer from the request variables, byte
// for byte as bls-runtime does: names in request order (duplicates repeated),
// the last value of each name, no escaping, and {"": ""} for no variables.
func envVarJSON(env []EnvVar) []byte {
	last := make(map[string]string, len(env))
	for _, v := range env {
		last[v.Name] = v.Value
	}
	names := make([]string, 0, len(env))
	for _, v := range env {
		names = append(names, v.Name)
	}
	if len(names) == 0 {
		names = []string{""}
	}
	out := []byte{'{'}
	for i, n := range names {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, n...)
		out = append(out, `": "`...)
		out = append(out, last[n]...)
		out = append(out, '"')
	}
	return append(out, '}')
}
