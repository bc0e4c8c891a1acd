package executor

import (
	"time"

	"github.com/b7s-actor/b7s/messages"
)

// Request is one execution of one function.
type Request struct {
	// RequestID names the execution; its filesystem root is
	// <Workspace>/t/<RequestID>/fs. Two executions with the same ID may not
	// run at the same time.
	RequestID string
	// FunctionID is the function's CID; it labels metrics and errors.
	FunctionID string
	// ModulePath is the absolute path of the function's .wasm file.
	ModulePath string
	// Args are the request's parameter values, in order. Empty values are
	// dropped, as b7s drops them; argv[0] is the module's base name.
	Args []string
	// Env are the request's env_vars, in order; a later duplicate wins.
	Env []EnvVar
	// Stdin is served by blockless_memory.memory_read and by WASI fd 0.
	Stdin *string
	// Permissions are URL prefixes that http_req may reach.
	Permissions []string
	// Entry names an exported () -> () function to call instead of _start;
	// when the module has no such export, _start is called.
	Entry string
	// RunTime is the request's run_time; 0 means none (MaxRunTime applies).
	RunTime time.Duration
	// MemoryLimitPages is the request's limited_memory in 64 KiB pages;
	// 0 means Config.DefaultMemoryLimitPages.
	MemoryLimitPages uint32
	// Fuel is the request's limited_fuel, in wasmtime's unit (about one per
	// executed operator); 0 means unlimited. The module runs instrumented
	// (package fuel) and stops with exit code 1 when a basic block costs more
	// than what is left. At most fuel.MaxFuel is used.
	Fuel uint64
}

// EnvVar is one request environment variable.
type EnvVar struct {
	Name  string
	Value string
}

// Result is what an execution produced. Execute always fills it.
type Result struct {
	// Code is messages.CodeOK on exit 0 (the guest's own), CodeTimeout when the run time
	// or the caller's deadline ran out, CodeError otherwise.
	Code     messages.Code
	Stdout   string
	Stderr   string
	ExitCode int
	// StdoutTruncated and StderrTruncated say the guest wrote more than
	// Config.MaxOutputBytes and the rest was dropped.
	StdoutTruncated bool
	StderrTruncated bool
	Usage           Usage
}

// Usage is what an execution consumed.
type Usage struct {
	// WallClock runs from the start of Execute to the end of the guest.
	WallClock time.Duration
	// CPUUser and CPUSys are the executing thread's CPU time during
	// instantiation and the guest call (Linux; zero elsewhere).
	CPUUser time.Duration
	CPUSys  time.Duration
	// MemoryMaxKB is the guest's peak linear memory, in KiB.
	MemoryMaxKB int64
	// FuelConsumed is the fuel charged when the request set limited_fuel: on
	// a run that completes, its count of executed operators; on exhaustion,
	// what the blocks that ran cost. Zero without limited_fuel.
	FuelConsumed uint64
}

// Exit codes of bls-runtime that the executor produces itself.
const (
	ExitOK             = 0
	ExitFuelExhausted  = 1   // limited_fuel ran out (wasmtime's OutOfFuel trap)
	ExitInterrupted    = 12  // stopped from outside before its own exit: wasmtime's "interrupt"
	ExitTimeout        = 15  // run_time, MaxRunTime or the caller's deadline ran out
	ExitMemoryLimit    = 16  // the module's minimum memory exceeds the limit
	ExitLoadFailure    = 101 // unreadable, invalid or unlinkable module
	ExitUnknownFailure = 255 // any other failure of the guest call
)
