// Package executor runs Blockless WebAssembly functions in-process with wazero,
// in place of the external bls-runtime binary that the original b7s node starts.
//
// It owns: the compiled-module cache (in memory, bounded, plus wazero's on-disk
// compilation cache), one fresh module instance per execution, the WASI view a
// function gets (argv, environment, stdin, captured stdout/stderr, a private
// filesystem root mounted at /), the Blockless host modules (blockless_http,
// blockless_memory and linking stubs for the others), the limits (run time,
// memory pages) and the usage and result of every execution.
//
// It must never: let a guest crash the node (a trap, a loop or a memory
// blow-up is a Result), read or write outside the execution's filesystem root,
// expose the node's own environment to a guest, buffer guest output without a
// bound, or send an HTTP request the request's permissions do not allow.
//
// The contract is the runtime ABI spec (shared/spec/runtime-abi.md, §1–5 and
// §7); decisions where the spec leaves a choice are in RATIONALE.md.
package executor
