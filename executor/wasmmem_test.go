package executor

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

func TestDeclaredMinPages(t *testing.T) {
	header := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	module := func(sections ...[]byte) []byte {
		out := append([]byte(nil), header...)
		for _, s := range sections {
			out = append(out, s...)
		}
		return out
	}
	cases := []struct {
		name string
		bin  []byte
		want uint32
		err  bool
	}{
		{"no memory", module(), 0, false},
		{"min 2", module([]byte{5, 3, 1, 0, 2}), 2, false},
		{"min 16000, max 16001 (LEB128)", module([]byte{5, 7, 1, 1, 0x80, 0x7d, 0x81, 0x7d, 0}), 16000, false},
		{"after a type section", module([]byte{1, 4, 1, 0x60, 0, 0}, []byte{5, 3, 1, 0, 3}), 3, false},
		{"truncated section", module([]byte{5, 9, 1}), 0, true},
		{"too short", []byte{0, 1}, 0, true},
	}
	for _, c := range cases {
		got, err := declaredMinPages(c.bin)
		if (err != nil) != c.err || (!c.err && got != c.want) {
			t.Errorf("%s: got %d, %v; want %d, error %v", c.name, got, err, c.want, c.err)
		}
	}
}

// A hidden (unexported) memory with a huge minimum is refused before instantiation, which would
// allocate the whole minimum first.
func TestExecute_HiddenHugeMemoryIsRefusedWithoutAllocatingIt(t *testing.T) {
	e := newExecutor(t, nil)
	req := request(writeModule(t, wasmModule(nil, []wasmFunc{{export: "_start"}}, 16000, false))) // 1000 MiB
	req.MemoryLimitPages = 16
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := e.Execute(context.Background(), req)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrMemoryLimit) || res.ExitCode != ExitMemoryLimit {
		t.Fatalf("%+v, %v", res, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("allocated %d MiB to refuse it", grew>>20)
	}
}
