// Command guest is the executor's test function, built at test time with
// GOOS=wasip1 GOARCH=wasm. argv[1] picks what it does; see the cases below.
package main

import (
	"crypto/md5"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

//go:wasmimport blockless_memory memory_read
func memoryRead(buf unsafe.Pointer, bufLen uint32, numOut unsafe.Pointer) uint32

//go:wasmimport blockless_memory env_var_read
func envVarRead(buf unsafe.Pointer, bufLen uint32, numOut unsafe.Pointer) uint32

//go:wasmimport blockless_http http_req
func httpReq(url unsafe.Pointer, urlLen uint32, opts unsafe.Pointer, optsLen uint32, handleOut unsafe.Pointer, statusOut unsafe.Pointer) uint32

//go:wasmimport blockless_http http_read_body
func httpReadBody(handle uint32, buf unsafe.Pointer, bufLen uint32, numOut unsafe.Pointer) uint32

//go:wasmimport blockless_http http_read_header
func httpReadHeader(handle uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, bufLen uint32, numOut unsafe.Pointer) uint32

//go:wasmimport blockless_http http_close
func httpClose(handle uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_open
func pathOpen(fd int32, dirflags uint32, path unsafe.Pointer, pathLen uint32, oflags uint32, rightsBase uint64, rightsInheriting uint64, fdflags uint32, fdOut unsafe.Pointer) uint32

func ptr(s string) (unsafe.Pointer, uint32) {
	if s == "" {
		return nil, 0
	}
	b := []byte(s)
	return unsafe.Pointer(&b[0]), uint32(len(b))
}

func arg(i int, def string) string {
	if len(os.Args) > i {
		return os.Args[i]
	}
	return def
}

func argInt(i, def int) int {
	n, err := strconv.Atoi(arg(i, strconv.Itoa(def)))
	if err != nil {
		return def
	}
	return n
}

// readWhole calls a blockless_memory reader with a buffer of size n.
func readWhole(read func(unsafe.Pointer, uint32, unsafe.Pointer) uint32, n int) (uint32, string) {
	buf := make([]byte, n+1)
	var num uint32
	code := read(unsafe.Pointer(&buf[0]), uint32(n), unsafe.Pointer(&num))
	return code, string(buf[:num])
}

// request sends http_req; argv: url, opts.
func request(url, opts string) (code, handle uint32, status int32) {
	u, ul := ptr(url)
	o, ol := ptr(opts)
	code = httpReq(u, ul, o, ol, unsafe.Pointer(&handle), unsafe.Pointer(&status))
	return code, handle, status
}

func readHeader(handle uint32, name string, size int) (uint32, string) {
	n, nl := ptr(name)
	buf := make([]byte, size+1)
	var num uint32
	code := httpReadHeader(handle, n, nl, unsafe.Pointer(&buf[0]), uint32(size), unsafe.Pointer(&num))
	return code, string(buf[:num])
}

var sink []byte
var counter int

func main() {
	switch arg(1, "") {
	case "args":
		for _, a := range os.Args {
			fmt.Println(a)
		}
	case "env":
		env := os.Environ()
		sort.Strings(env)
		fmt.Print(strings.Join(env, "\n"))
	case "stdin":
		b, err := io.ReadAll(os.Stdin)
		fmt.Printf("%q %v", b, err)
	case "memread": // argv[2]: buffer size
		n := argInt(2, 1024)
		code, data := readWhole(memoryRead, n)
		fmt.Printf("stdin code=%d data=%s\n", code, data)
		code, data = readWhole(envVarRead, n)
		fmt.Printf("env code=%d data=%s\n", code, data)
	case "http": // argv: url, opts, body buffer size
		code, h, status := request(arg(2, ""), arg(3, `{"method":"GET","headers":"{}"}`))
		fmt.Printf("req=%d handle=%d status=%d\n", code, h, status)
		if code != 0 {
			return
		}
		size := argInt(4, 7)
		buf := make([]byte, size+1)
		var body []byte
		for {
			var num uint32
			if c := httpReadBody(h, unsafe.Pointer(&buf[0]), uint32(size), unsafe.Pointer(&num)); c != 0 {
				fmt.Printf("read=%d\n", c)
				break
			}
			if num == 0 {
				break
			}
			body = append(body, buf[:num]...)
		}
		fmt.Printf("body=%s\n", body)
		c, _ := readHeader(h, "Content-Type", 100)
		fmt.Printf("header-after-body=%d\n", c)
		fmt.Printf("close=%d close-again=%d\n", httpClose(h), httpClose(h))
	case "header": // argv: url, header name, buffer size
		code, h, _ := request(arg(2, ""), `{"method":"GET","headers":"{}"}`)
		if code != 0 {
			fmt.Printf("req=%d\n", code)
			return
		}
		c, v := readHeader(h, arg(3, ""), argInt(4, 100))
		fmt.Printf("hdr=%d value=%s\n", c, v)
		c, v = readHeader(h, arg(3, ""), argInt(4, 100))
		fmt.Printf("again=%d value=%s\n", c, v)
		c, _ = readHeader(h, "X-Absent", 100)
		fmt.Printf("absent=%d\n", c)
		fmt.Printf("bad-handle=%d\n", func() uint32 { c, _ := readHeader(h+7, "X-Test", 100); return c }())
	case "sessions": // argv: url, count; never closes
		for i := 0; i < argInt(3, 1); i++ {
			code, h, _ := request(arg(2, ""), `{"method":"GET","headers":"{}"}`)
			fmt.Printf("req=%d handle=%d\n", code, h)
		}
	case "trap": // a load far outside linear memory: wasm "out of bounds memory access"
		p := (*byte)(unsafe.Pointer(uintptr(0xfffffff0)))
		fmt.Println(*p)
	case "loop":
		for {
			counter++
		}
	case "grow": // 1 MiB at a time, all kept
		for i := 0; ; i++ {
			b := make([]byte, 1<<20)
			b[0] = byte(i)
			sink = append(sink, b...)
		}
	case "flood": // argv[2]: MiB to write
		chunk := []byte(strings.Repeat("x", 64<<10))
		for i := 0; i < argInt(2, 100)*16; i++ {
			os.Stdout.Write(chunk)
		}
		fmt.Fprint(os.Stderr, "done")
	case "escape":
		_, err := os.ReadFile("/etc/passwd")
		fmt.Printf("etc-passwd: %v\n", err != nil)
		for _, p := range []string{"../secret", "../../secret", "/../secret", "fs/../../secret"} {
			var fd uint32
			pp, pl := ptr(p)
			errno := pathOpen(3, 0, pp, pl, 0, 1<<1, 0, 0, unsafe.Pointer(&fd)) // rights: fd_read
			fmt.Printf("open %s: errno=%d\n", p, errno)
		}
		err = os.Symlink("../../secret", "/link")
		fmt.Printf("symlink refused: %v\n", err != nil)
		_, err = os.ReadFile("/link")
		fmt.Printf("link read fails: %v\n", err != nil)
		err = os.WriteFile("/inside.txt", []byte("ok"), 0o600)
		fmt.Printf("write inside: %v\n", err)
	case "disk": // argv: how, bytes; see disk
		disk(arg(2, ""), int64(argInt(3, 0)))
	case "md5sum": // argv: --file NAME [--chunk N]; prints the md5 of a file in the fs root
		md5sum(os.Args[2:])
	case "exit":
		fmt.Print("bye")
		os.Exit(argInt(2, 1))
	case "panic":
		panic("guest panic")
	default:
		fmt.Println("unknown mode")
		os.Exit(64)
	}
}

// disk grows the filesystem root by n bytes one way (how) and prints "ok"; the first failure
// is printed to stderr and ends the program with exit code 1, as a program that cannot write
// its output usually does.
//
//	write     n bytes to /data, 64 KiB at a time
//	seek      one byte at offset n-1 of /data
//	truncate  /data to n bytes
//	files     n empty files /f0, /f1, …
//	churn     n bytes to /tmp, then delete it; eight times
func disk(how string, n int64) {
	fail := func(done int64, err error) {
		fmt.Fprintf(os.Stderr, "%s after %d: %v\n", how, done, err)
		os.Exit(1)
	}
	writeFile := func(name string, n int64) {
		f, err := os.Create(name)
		if err != nil {
			fail(0, err)
		}
		chunk := make([]byte, 64<<10)
		for done := int64(0); done < n; {
			w, err := f.Write(chunk[:min(int64(len(chunk)), n-done)])
			done += int64(w)
			if err != nil {
				fail(done, err)
			}
		}
		if err := f.Close(); err != nil {
			fail(n, err)
		}
	}
	switch how {
	case "write":
		writeFile("/data", n)
	case "seek":
		f, err := os.Create("/data")
		if err == nil {
			_, err = f.WriteAt([]byte{1}, n-1)
		}
		if err != nil {
			fail(0, err)
		}
	case "truncate":
		f, err := os.Create("/data")
		if err == nil {
			err = f.Truncate(n)
		}
		if err != nil {
			fail(0, err)
		}
	case "files":
		for i := int64(0); i < n; i++ {
			f, err := os.Create(fmt.Sprintf("/f%d", i))
			if err != nil {
				fail(i, err)
			}
			f.Close()
		}
	case "churn":
		for range 8 {
			writeFile("/tmp", n)
			if err := os.Remove("/tmp"); err != nil {
				fail(n, err)
			}
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown disk mode %q\n", how)
		os.Exit(2)
	}
	fmt.Print("ok")
}

// md5sum is the Blockless md5sum example: the hex md5 of a file, no newline,
// read through fd_read in chunks of --chunk bytes so that reads end mid-file.
func md5sum(args []string) {
	fs := flag.NewFlagSet("md5sum", flag.ContinueOnError)
	name := fs.String("file", "", "file in the fs root")
	chunk := fs.Int("chunk", 1024, "bytes per read")
	if err := fs.Parse(args); err != nil || *chunk <= 0 {
		os.Exit(2)
	}
	if *name == "" {
		fmt.Fprintln(os.Stderr, "specify filename")
		os.Exit(1)
	}
	f, err := os.Open(*name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not open file: %v\n", err)
		os.Exit(1)
	}
	h := md5.New()
	buf := make([]byte, *chunk)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "read %s: %v\n", *name, err)
			os.Exit(1)
		}
	}
	fmt.Print(hex.EncodeToString(h.Sum(nil)))
}
