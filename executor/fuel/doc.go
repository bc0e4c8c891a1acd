// Package fuel rewrites a WebAssembly module so that it meters its own
// execution in wasmtime's fuel unit, deterministically: the same module, input
// and fuel stop at the same instruction on every machine and every run.
//
// It owns: a decoder and encoder for the parts of the WebAssembly binary
// format the rewrite touches (sections, and every instruction of the
// proposals wazero enables by default: bulk memory, multi-value, sign
// extension, non-trapping float-to-int, reference types, SIMD), the cost of
// each operator, the placement of the charges, and the contract between an
// instrumented module and its host (the exports Arm, Start and Read use).
//
// It must never: return a module that runs any code unmetered, make a module
// valid that was not (every index the rewrite adds is checked against what the
// original module may address), or accept an encoding that wazero would read
// differently from how it was instrumented. A module it cannot handle is
// refused with an error that says why.
//
// The unit is wasmtime's fuel, which bls-runtime meters `limited_fuel` with
// (runtime ABI §4.1): one unit per operator, with nop, drop, block, loop,
// unreachable, return, else and end free.
package fuel
