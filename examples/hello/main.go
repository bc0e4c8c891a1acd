//go:build wasip1

// Command hello is the devnet's example function, built to WASI:
//
//	GOOS=wasip1 GOARCH=wasm go build -o bin/examples/hello.wasm ./examples/hello
//
// It prints its arguments and stdin and exits 0. It reads no clock and no randomness, so every
// worker gives the same output for the same input and results aggregate into one group.
package main

import (
	"fmt"
	"io"
	"os"
)

// maxStdin bounds what we read and echo back.
const maxStdin = 64 << 10

func main() {
	in, err := io.ReadAll(io.LimitReader(os.Stdin, maxStdin))
	if err != nil {
		fmt.Fprintf(os.Stderr, "read stdin: %v\n", err)
		os.Exit(1)
	}
	args := os.Args[1:]
	fmt.Printf("Hello from b7s-actor! args=%q stdin=%q\n", args, in)
	fmt.Printf("%d argument(s), %d byte(s) of stdin\n", len(args), len(in))
}
