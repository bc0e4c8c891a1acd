// Package executor runs Blockless WebAssembly functions in-process with wazero,
// in place of the external bls-runtime binary that the original b7s node starts.
//
// It owns: the compiled-module cache (in memory, bounded, plus wazero's on-disk
// compilation cache), one fresh module instance per execution, the WASI view a
// function gets (argv, environment, stdin, captured stdout/stderr, a private
// filesystem root mounted at /), the Blockless host modules (blockless_http,
// blockless_memory and linking stubs for the others), the limits (run time,
// memory pages, the disk quota of the filesystem root, and fuel, metered by
// running a module rewritten by package fuel), what an execution reserves
// against a worker's budgets, and the usage and result of every execution.
//
// It must never: let a guest crash the node (a trap, a loop or a memory
// blow-up is a Result), read or write outside the execution's filesystem root or
// grow it past its quota, expose the node's own environment to a guest, buffer
// guest output without a bound, or send an HTTP request the request's
// permissions do not allow.
//
// The contract is the runtime ABI of the original Blockless runtime,
// bls-runtime, as b7s drives it: what a function sees (argv, environment,
// stdin, the filesystem root), the blockless_* host modules, the permission
// rule, the limits and the exit codes. Where bls-runtime's behaviour left a
// choice, or is a bug we do not copy, the decision is in RATIONALE.md.
package executor
