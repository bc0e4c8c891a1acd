package executor

import (
	"errors"
	"strings"

	"github.com/tetratelabs/wazero/sys"
)

// trapCodes maps wazero trap messages ("wasm error: <msg>") to the exit codes
// bls-runtime gives each wasmtime trap kind.
var trapCodes = []struct {
	msg  string
	code int
}{
	{"unreachable", 11},
	{"integer divide by zero", 9},
	{"integer overflow", 8},
	{"invalid conversion to integer", 10},
	{"out of bounds memory access", 3},
	{"invalid table access", 5},
	{"indirect call type mismatch", 7},
	{"stack overflow", 2},
	{"unaligned atomic", 4},
}

// exitCodeOf maps the error of a guest call to an exit code: nil and
// proc_exit(0) are 0, proc_exit(n) is n (n < 126), a module closed by its deadline is 15 and
// by a cancelled context 12, a trap is its code from the table, anything else 255.
func exitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch c := exit.ExitCode(); c {
		case sys.ExitCodeDeadlineExceeded:
			return ExitTimeout
		case sys.ExitCodeContextCanceled:
			return ExitInterrupted
		default:
			if c >= 126 {
				// bls-runtime's proc_exit accepts only statuses below 126.
				return ExitUnknownFailure
			}
			return int(c)
		}
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "wasm error: "); ok {
		for _, t := range trapCodes {
			if strings.HasPrefix(rest, t.msg) {
				return t.code
			}
		}
	}
	// wazero reports a call stack past its bound as a bare "stack overflow", not a trap.
	if strings.HasPrefix(msg, "stack overflow") {
		return 2
	}
	return ExitUnknownFailure
}
