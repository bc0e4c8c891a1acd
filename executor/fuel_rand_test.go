package executor

import (
	"context"
	"testing"

	wb "github.com/b7s-actor/b7s/internal/wasmbuild"
)

// randModule prints 16 bytes from WASI random_get.
func randModule() []byte {
	i32 := []wb.ValType{wb.I32}
	m := wb.New()
	randomGet := m.Import("wasi_snapshot_preview1", "random_get", []wb.ValType{wb.I32, wb.I32}, i32)
	fdWrite := m.Import("wasi_snapshot_preview1", "fd_write", []wb.ValType{wb.I32, wb.I32, wb.I32, wb.I32}, i32)
	var c wb.Code
	c.Const(64).Const(16).Call(randomGet).Op(wb.Drop).
		Const(0).Const(64).Store(0).Const(4).Const(16).Store(0).
		Const(1).Const(0).Const(1).Const(8).Call(fdWrite).Op(wb.Drop)
	m.Memory(1, "memory")
	m.ExportFunc("_start", m.Func(nil, nil, nil, c.Bytes()))
	return m.Bytes()
}

// A metered execution's random source is the request's: every worker of one request draws the
// same bytes (so a language runtime seeding itself from it runs the same operators), another
// request other bytes, and an unmetered execution real randomness.
func TestFuel_RandomnessIsTheRequestsWhenMetered(t *testing.T) {
	e := newExecutor(t, nil)
	path := writeModule(t, randModule())
	run := func(id string, fuel uint64) string {
		req := request(path)
		req.RequestID, req.Fuel = id, fuel
		res, err := e.Execute(context.Background(), req)
		if err != nil || len(res.Stdout) != 16 {
			t.Fatalf("%s: %q, %v", id, res.Stdout, err)
		}
		return res.Stdout
	}
	a1, a2, b := run("req-a", 1_000_000), run("req-a", 1_000_000), run("req-b", 1_000_000)
	if a1 != a2 {
		t.Errorf("one request drew %x then %x", a1, a2)
	}
	if a1 == b {
		t.Errorf("two requests drew the same bytes %x", a1)
	}
	if u1, u2 := run("req-a", 0), run("req-a", 0); u1 == u2 || u1 == a1 {
		t.Errorf("unmetered runs drew %x and %x (metered %x): want real randomness", u1, u2, a1)
	}
}
