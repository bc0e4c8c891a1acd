// Command tiny writes the repository's light example function, a WebAssembly module assembled
// here instead of compiled:
//
//	go run ./examples/tiny -o bin/examples/tiny.wasm
//
// The module prints "Hello from b7s-actor!", its arguments and its stdin on one line, and exits
// 0:
//
//	args world, stdin "hi"  ->  Hello from b7s-actor! world stdin: hi
//
// It imports four WASI functions and has no language runtime to start, so an execution costs
// tens of microseconds where the Go-built examples/hello costs milliseconds: the benchmarks
// measure the node with it rather than the guest's start-up.
package main

import (
	"flag"
	"fmt"
	"os"

	wb "github.com/b7s-actor/b7s/internal/wasmbuild"
)

func main() {
	out := flag.String("o", "tiny.wasm", "file to write the module to")
	flag.Parse()
	if err := os.WriteFile(*out, module(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Memory layout.
const (
	iovec      = 0     // the one iovec of every write: pointer, length
	nwritten   = 8     // fd_write's count
	argcAt     = 12    // args_sizes_get: argument count
	argvSize   = 16    // args_sizes_get: size of the argument strings
	readIovec  = 32    // fd_read's iovec
	nread      = 40    // fd_read's count
	greetingAt = 64    // the texts below
	argvAt     = 1024  // argument pointers
	argvBuf    = 4096  // argument strings, NUL-terminated
	stdinAt    = 32768 // stdin, up to stdinMax bytes
	stdinMax   = 65536
)

var (
	greeting = []byte("Hello from b7s-actor!")
	space    = []byte(" ")
	stdinTag = []byte(" stdin: ")
	newline  = []byte("\n")
)

func module() []byte {
	i32 := []wb.ValType{wb.I32}
	m := wb.New()
	fdWrite := m.Import("wasi_snapshot_preview1", "fd_write", []wb.ValType{wb.I32, wb.I32, wb.I32, wb.I32}, i32)
	argsSizesGet := m.Import("wasi_snapshot_preview1", "args_sizes_get", []wb.ValType{wb.I32, wb.I32}, i32)
	argsGet := m.Import("wasi_snapshot_preview1", "args_get", []wb.ValType{wb.I32, wb.I32}, i32)
	fdRead := m.Import("wasi_snapshot_preview1", "fd_read", []wb.ValType{wb.I32, wb.I32, wb.I32, wb.I32}, i32)

	// texts: greeting, space, stdin tag, newline, one after the other.
	texts := append(append(append(append([]byte{}, greeting...), space...), stdinTag...), newline...)
	at := func(offset int) int32 { return int32(greetingAt + offset) }
	spaceAt, tagAt, newlineAt := at(len(greeting)), at(len(greeting)+len(space)), at(len(greeting)+len(space)+len(stdinTag))

	// write(ptr, len): fd_write(1, iovec, 1, nwritten), errors ignored.
	var w wb.Code
	w.Const(iovec).Get(0).Store(0).
		Const(iovec + 4).Get(1).Store(0).
		Const(1).Const(iovec).Const(1).Const(nwritten).Call(fdWrite).Op(wb.Drop)
	write := m.Func([]wb.ValType{wb.I32, wb.I32}, nil, nil, w.Bytes())

	// _start. Locals: 0 argc, 1 start, 2 end, 3 p, 4 n, 5 total.
	const argc, start, end, p, n, total = 0, 1, 2, 3, 4, 5
	var s wb.Code
	s.Const(at(0)).Const(int32(len(greeting))).Call(write)
	// Arguments after argv[0], written with their NULs turned into spaces.
	s.Const(argcAt).Const(argvSize).Call(argsSizesGet).Op(wb.Drop).
		Const(argvAt).Const(argvBuf).Call(argsGet).Op(wb.Drop).
		Const(argcAt).Load(0).Set(argc).
		Get(argc).Const(1).Op(wb.I32GtU).If().
		Const(argvAt + 4).Load(0).Set(start).
		Const(argvBuf).Const(argvSize).Load(0).Op(wb.I32Add).Const(1).Op(wb.I32Sub).Set(end).
		Get(start).Set(p).
		Block().Loop().
		Get(p).Get(end).Op(wb.I32GeU).BrIf(1).
		Get(p).Load8U(0).Op(wb.I32Eqz).If().Get(p).Const(' ').Store8(0).End().
		Get(p).Const(1).Op(wb.I32Add).Set(p).
		Br(0).
		End().End().
		Const(spaceAt).Const(1).Call(write).
		Get(start).Get(end).Get(start).Op(wb.I32Sub).Call(write).
		End()
	// stdin, read until EOF, an error or a full buffer.
	s.Const(0).Set(total).
		Block().Loop().
		Get(total).Const(stdinMax).Op(wb.I32GeU).BrIf(1).
		Const(readIovec).Const(stdinAt).Get(total).Op(wb.I32Add).Store(0).
		Const(readIovec + 4).Const(stdinMax).Get(total).Op(wb.I32Sub).Store(0).
		Const(0).Const(readIovec).Const(1).Const(nread).Call(fdRead).BrIf(1).
		Const(nread).Load(0).Set(n).
		Get(n).Op(wb.I32Eqz).BrIf(1).
		Get(total).Get(n).Op(wb.I32Add).Set(total).
		Br(0).
		End().End().
		Get(total).If().
		Const(tagAt).Const(int32(len(stdinTag))).Call(write).
		Const(stdinAt).Get(total).Call(write).
		End()
	s.Const(newlineAt).Const(1).Call(write)
	startFn := m.Func(nil, nil, []wb.ValType{wb.I32, wb.I32, wb.I32, wb.I32, wb.I32, wb.I32}, s.Bytes())

	m.Memory(2, "memory") // 128 KiB: texts, arguments and a 64 KiB stdin buffer
	m.ExportFunc("_start", startFn)
	m.Data(greetingAt, texts)
	return m.Bytes()
}
