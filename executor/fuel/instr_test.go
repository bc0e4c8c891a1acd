package fuel

import (
	"context"
	"strings"
	"testing"
)

func TestLEB128_ReadsAsWazeroDoes(t *testing.T) {
	for _, tc := range []struct {
		in     []byte
		bits   uint
		signed bool
		want   int64
		n      int
		err    string
	}{
		{[]byte{0x00}, 32, false, 0, 1, ""},
		{[]byte{0x80, 0x00}, 32, false, 0, 2, ""}, // padded: allowed, two bytes long
		{[]byte{0xe5, 0x8e, 0x26}, 32, false, 624485, 3, ""},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 32, false, 1<<32 - 1, 5, ""},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 32, false, 0, 0, "overflows 32 bits"},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 32, false, 0, 0, "longer than 5 bytes"},
		{[]byte{0x80}, 32, false, 0, 0, "unexpected end"},
		{[]byte{0x7f}, 32, true, -1, 1, ""},
		{[]byte{0x40}, 33, true, -64, 1, ""}, // the empty block type
		{[]byte{0xc0, 0xbb, 0x78}, 32, true, -123456, 3, ""},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, 64, true, -1 << 63, 10, ""},
	} {
		r := newReader(tc.in, 0)
		var got int64
		var err error
		if tc.signed {
			got, err = r.sleb(tc.bits)
		} else {
			var u uint64
			u, err = r.uleb(tc.bits)
			got = int64(u)
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("% x: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want || r.pos != tc.n {
			t.Errorf("% x: %d (%d bytes), %v; want %d (%d bytes)", tc.in, got, r.pos, err, tc.want, tc.n)
		}
	}
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 40, -1 << 63} {
		r := newReader(appendSLEB(nil, v), 0)
		if got, err := r.sleb(64); err != nil || got != v || !r.eof() {
			t.Errorf("sleb round trip of %d: %d, %v", v, got, err)
		}
	}
}

// Every immediate layout decodes to the instruction's full length, so the
// rewrite never puts a charge inside an instruction.
func TestDecodeInstr_LengthsAndKinds(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		kind kind
	}{
		{[]byte{0x00}, kindUnreachable},
		{[]byte{0x01}, kindPlain},
		{[]byte{0x02, 0x40}, kindBlock},
		{[]byte{0x03, 0x7f}, kindLoop},
		{[]byte{0x04, 0x05}, kindIf}, // type index 5
		{[]byte{0x05}, kindElse},
		{[]byte{0x0b}, kindEnd},
		{[]byte{0x0c, 0x81, 0x01}, kindBr},
		{[]byte{0x0d, 0x00}, kindBrIf},
		{[]byte{0x0e, 0x02, 0x00, 0x01, 0x02}, kindBrTable},
		{[]byte{0x0f}, kindReturn},
		{[]byte{0x10, 0x80, 0x01}, kindCall},
		{[]byte{0x11, 0x01, 0x00}, kindCallIndirect},
		{[]byte{0x1b}, kindPlain},
		{[]byte{0x1c, 0x01, 0x7b}, kindPlain},
		{[]byte{0x20, 0x05}, kindPlain},
		{[]byte{0x23, 0x02}, kindGlobal},
		{[]byte{0x25, 0x00}, kindPlain},
		{[]byte{0x28, 0x02, 0x80, 0x80, 0x04}, kindPlain}, // i32.load align 2 offset 65536
		{[]byte{0x3f, 0x00}, kindPlain},
		{[]byte{0x41, 0x80, 0x80, 0x80, 0x80, 0x78}, kindPlain},
		{[]byte{0x42, 0x7f}, kindPlain},
		{[]byte{0x43, 1, 2, 3, 4}, kindPlain},
		{[]byte{0x44, 1, 2, 3, 4, 5, 6, 7, 8}, kindPlain},
		{[]byte{0xc4}, kindPlain}, // i64.extend32_s
		{[]byte{0xd0, 0x6f}, kindPlain},
		{[]byte{0xd2, 0x03}, kindRefFunc},
		{[]byte{0xfc, 0x07}, kindPlain},             // i64.trunc_sat_f64_u
		{[]byte{0xfc, 0x08, 0x01, 0x00}, kindPlain}, // memory.init 1
		{[]byte{0xfc, 0x0a, 0x00, 0x00}, kindPlain}, // memory.copy
		{[]byte{0xfc, 0x0c, 0x01, 0x00}, kindPlain}, // table.init 1 0
		{[]byte{0xfc, 0x11, 0x00}, kindPlain},       // table.fill 0
		{[]byte{0xfd, 0x00, 0x04, 0x10}, kindPlain}, // v128.load
		{append([]byte{0xfd, 0x0c}, make([]byte, 16)...), kindPlain},
		{append([]byte{0xfd, 0x0d}, make([]byte, 16)...), kindPlain},
		{[]byte{0xfd, 0x15, 0x0f}, kindPlain},             // i8x16.extract_lane_s 15
		{[]byte{0xfd, 0x54, 0x00, 0x00, 0x0f}, kindPlain}, // v128.load8_lane
		{[]byte{0xfd, 0x5c, 0x02, 0x00}, kindPlain},       // v128.load32_zero
		{[]byte{0xfd, 0x53}, kindPlain},                   // v128.any_true
		{[]byte{0xfd, 0xff, 0x01}, kindPlain},             // f64x2.convert_low_i32x4_u
	} {
		var in instr
		r := newReader(append(tc.in, 0x0b), 0)
		if err := decodeInstr(r, &in); err != nil {
			t.Errorf("% x: %v", tc.in, err)
			continue
		}
		if r.pos != len(tc.in) || in.kind != tc.kind {
			t.Errorf("% x: %d bytes, kind %d; want %d bytes, kind %d", tc.in, r.pos, in.kind, len(tc.in), tc.kind)
		}
	}
}

func TestCost_IsWasmtimesFuel(t *testing.T) {
	free := map[byte]bool{0x00: true, 0x01: true, 0x02: true, 0x03: true, 0x05: true, 0x0b: true, 0x0f: true, 0x1a: true}
	for op := range 256 {
		if layouts[op] == immInvalid {
			continue
		}
		in := instr{op: byte(op)}
		if want := map[bool]int64{true: 0, false: 1}[free[byte(op)]]; cost(&in) != want {
			t.Errorf("cost of %#02x = %d, want %d", op, cost(&in), want)
		}
	}
}

// FuzzInstrument: the rewrite never panics, is deterministic, and never
// produces a module wazero compiles from one wazero refuses.
func FuzzInstrument(f *testing.F) {
	for _, m := range handModules {
		f.Add(m.bin)
	}
	f.Add(wasm(types(voidType), funcs(0), code(body(nil, loop(0x40), br(0), end))))
	f.Fuzz(func(t *testing.T, bin []byte) {
		inst, err := Instrument(bin)
		if err != nil {
			return
		}
		again, err := Instrument(bin)
		if err != nil || string(again.Binary) != string(inst.Binary) {
			t.Fatalf("second rewrite differs: %v", err)
		}
		ctx := context.Background()
		r := testRuntime(t)
		out, err := r.CompileModule(ctx, inst.Binary)
		if err != nil {
			return
		}
		_ = out.Close(ctx)
		orig, err := r.CompileModule(ctx, bin)
		if err != nil {
			t.Fatalf("the rewrite made a module wazero refuses (%v) compile", err)
		}
		_ = orig.Close(ctx)
	})
}
