// Command guest is the end-to-end tests' function, built at test time with
// GOOS=wasip1 GOARCH=wasm. Its first argument picks what it does:
//
//	(none)       print the classic 80-byte greeting and exit 0
//	echo         print its other arguments and its stdin
//	flood N      write N bytes of 0x01 to stdout and N to stderr: the worst case for JSON
//	spin         loop until stopped
//	fill N       write N bytes to /out in its filesystem root; on a failed write, print the
//	             error to stderr and exit 1
//	sleep MS     sleep MS milliseconds, then print "slept"
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

const greeting = "This is the start of my program\nThe answer is  42\nThis is the end of my program\n"

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "":
		fmt.Print(greeting)
	case "echo":
		in, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("args=%q stdin=%q\n", os.Args[2:], in)
	case "flood":
		n, err := strconv.Atoi(arg(2))
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "flood N: N must be a count of bytes")
			os.Exit(2)
		}
		out := bytes.Repeat([]byte{0x01}, n)
		os.Stdout.Write(out)
		os.Stderr.Write(out)
	case "fill":
		n, err := strconv.Atoi(arg(2))
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "fill N: N must be a count of bytes")
			os.Exit(2)
		}
		if err := os.WriteFile("/out", make([]byte, n), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Print("filled")
	case "spin":
		for i := 0; ; i++ {
			if i < 0 {
				fmt.Print(i) // never: keeps the loop from being optimised away
			}
		}
	case "sleep":
		ms, err := strconv.Atoi(arg(2))
		if err != nil || ms < 0 {
			fmt.Fprintln(os.Stderr, "sleep MS: MS must be a count of milliseconds")
			os.Exit(2)
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Print("slept")
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
		os.Exit(2)
	}
}

func arg(i int) string {
	if len(os.Args) > i {
		return os.Args[i]
	}
	return ""
}
