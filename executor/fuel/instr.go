package fuel

import "fmt"

// kind is what the rewrite needs to know of an instruction.
type kind uint8

const (
	kindPlain kind = iota
	kindBlock
	kindLoop
	kindIf
	kindElse
	kindEnd
	kindBr
	kindBrIf
	kindBrTable
	kindReturn
	kindUnreachable
	kindCall         // imm: function index
	kindCallIndirect // imm: type index
	kindGlobal       // imm: global index
	kindRefFunc      // imm: function index
)

// instr is one decoded instruction: its byte range in the body and the
// immediates the rewrite checks or follows.
type instr struct {
	kind   kind
	op     byte   // the first byte
	sub    uint32 // the sub-opcode after a 0xfc or 0xfd prefix
	imm    uint32 // see kind
	block  int64  // block type of block, loop and if: negative a value type, else a type index
	labels []uint32
	start  int
	end    int
}

// immediate layouts of the single-byte opcodes.
type layout uint8

const (
	immInvalid layout = iota
	immNone
	immBlockType
	immLabel
	immBrTable
	immU32      // local, table or function index
	immGlobal   // global index
	immCallInd  // type index, table index
	immSelectT  // vector of one value type
	immMemArg   // align, offset
	immMemZero  // reserved byte 0
	immI32      // signed LEB128 32
	immI64      // signed LEB128 64
	immF32      // 4 bytes
	immF64      // 8 bytes
	immRefType  // one reference type byte
	immMisc     // 0xfc prefix
	immVec      // 0xfd prefix
	immCallFunc // function index
	immRefFunc  // function index
)

// layouts holds every single-byte opcode of WebAssembly 2.0; the rest
// (exceptions, tail calls, threads, typed function references, ...) are
// proposals wazero does not enable by default and the rewrite refuses.
var layouts = func() (t [256]layout) {
	set := func(lo, hi byte, l layout) {
		for op := int(lo); op <= int(hi); op++ {
			t[op] = l
		}
	}
	set(0x00, 0x01, immNone) // unreachable, nop
	set(0x02, 0x04, immBlockType)
	set(0x05, 0x05, immNone) // else
	set(0x0b, 0x0b, immNone) // end
	set(0x0c, 0x0d, immLabel)
	t[0x0e] = immBrTable
	t[0x0f] = immNone // return
	t[0x10] = immCallFunc
	t[0x11] = immCallInd
	set(0x1a, 0x1b, immNone) // drop, select
	t[0x1c] = immSelectT
	set(0x20, 0x22, immU32) // local.get, local.set, local.tee
	set(0x23, 0x24, immGlobal)
	set(0x25, 0x26, immU32) // table.get, table.set
	set(0x28, 0x3e, immMemArg)
	set(0x3f, 0x40, immMemZero) // memory.size, memory.grow
	t[0x41] = immI32
	t[0x42] = immI64
	t[0x43] = immF32
	t[0x44] = immF64
	set(0x45, 0xc4, immNone) // numeric, including sign extension (0xc0-0xc4)
	t[0xd0] = immRefType
	t[0xd1] = immNone // ref.is_null
	t[0xd2] = immRefFunc
	t[0xfc] = immMisc
	t[0xfd] = immVec
	return t
}()

// vecInvalid marks the SIMD sub-opcodes below 256 that WebAssembly 2.0 leaves
// unassigned.
var vecInvalid = func() (t [256]bool) {
	for _, op := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6,
		0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		t[op] = true
	}
	return t
}()

// decodeInstr reads the instruction at r's position into in. in.labels is
// reused between calls.
func decodeInstr(r *reader, in *instr) error {
	in.start = r.pos
	in.kind, in.sub, in.imm, in.block = kindPlain, 0, 0, 0
	in.labels = in.labels[:0]
	op, err := r.byte()
	if err != nil {
		return err
	}
	in.op = op
	switch layouts[op] {
	case immInvalid:
		return r.errorf("unsupported instruction %#02x (a proposal wazero does not enable by default, or not an instruction)", op)
	case immNone:
		switch op {
		case 0x00:
			in.kind = kindUnreachable
		case 0x05:
			in.kind = kindElse
		case 0x0b:
			in.kind = kindEnd
		case 0x0f:
			in.kind = kindReturn
		}
	case immBlockType:
		in.kind = [...]kind{kindBlock, kindLoop, kindIf}[op-0x02]
		bt, err := r.sleb(33)
		if err != nil {
			return err
		}
		switch bt {
		case -64, -1, -2, -3, -4, -5, -16, -17: // empty, i32, i64, f32, f64, v128, funcref, externref
		default:
			if bt < 0 {
				return r.errorf("unsupported block type %d", bt)
			}
		}
		in.block = bt
	case immLabel:
		in.kind = kindBr
		if op == 0x0d {
			in.kind = kindBrIf
		}
		if in.imm, err = r.u32(); err != nil {
			return err
		}
	case immBrTable:
		in.kind = kindBrTable
		n, err := r.count()
		if err != nil {
			return err
		}
		for i := 0; i <= n; i++ { // the targets, then the default
			l, err := r.u32()
			if err != nil {
				return err
			}
			in.labels = append(in.labels, l)
		}
	case immU32:
		if _, err := r.u32(); err != nil {
			return err
		}
	case immGlobal:
		in.kind = kindGlobal
		if in.imm, err = r.u32(); err != nil {
			return err
		}
	case immCallFunc, immRefFunc:
		in.kind = kindCall
		if op == 0xd2 {
			in.kind = kindRefFunc
		}
		if in.imm, err = r.u32(); err != nil {
			return err
		}
	case immCallInd:
		in.kind = kindCallIndirect
		if in.imm, err = r.u32(); err != nil {
			return err
		}
		if _, err := r.u32(); err != nil {
			return err
		}
	case immSelectT:
		// wazero reads the count as one byte and allows one type.
		if n, err := r.byte(); err != nil || n != 1 {
			return r.errorf("typed select with other than one type")
		}
		if err := valueType(r); err != nil {
			return err
		}
	case immMemArg:
		return memArg(r)
	case immMemZero:
		return zeroByte(r)
	case immI32:
		_, err = r.sleb(32)
		return err
	case immI64:
		_, err = r.sleb(64)
		return err
	case immF32:
		_, err = r.bytes(4)
		return err
	case immF64:
		_, err = r.bytes(8)
		return err
	case immRefType:
		t, err := r.byte()
		if err != nil {
			return err
		}
		if t != 0x70 && t != 0x6f {
			return r.errorf("unsupported reference type %#02x", t)
		}
	case immMisc:
		return decodeMisc(r, in)
	case immVec:
		return decodeVec(r, in)
	}
	return err
}

// decodeMisc reads the 0xfc instructions: non-trapping float-to-int,
// bulk memory and table operations.
func decodeMisc(r *reader, in *instr) (err error) {
	if in.sub, err = r.u32(); err != nil {
		return err
	}
	u32s := func(n int) error {
		for range n {
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		return nil
	}
	switch sub := in.sub; {
	case sub <= 7: // i32.trunc_sat_f32_s ... i64.trunc_sat_f64_u
		return nil
	case sub == 8: // memory.init data 0
		if err := u32s(1); err != nil {
			return err
		}
		return zeroByte(r)
	case sub == 9, sub == 13: // data.drop, elem.drop
		return u32s(1)
	case sub == 10: // memory.copy 0 0
		if err := zeroByte(r); err != nil {
			return err
		}
		return zeroByte(r)
	case sub == 11: // memory.fill 0
		return zeroByte(r)
	case sub == 12, sub == 14: // table.init elem table, table.copy table table
		return u32s(2)
	case sub <= 17: // table.grow, table.size, table.fill
		return u32s(1)
	default:
		return r.errorf("unsupported instruction 0xfc %d", sub)
	}
}

// decodeVec reads the 0xfd (SIMD) instructions. wazero reads the sub-opcode
// as one byte; from 128 on, the LEB128 encoding's second byte is 0x01, which
// wazero then reads as a nop. Any other encoding would be read differently by
// the two, so it is refused.
func decodeVec(r *reader, in *instr) error {
	b, err := r.byte()
	if err != nil {
		return err
	}
	if b >= 0x80 {
		if c, err := r.byte(); err != nil || c != 0x01 {
			return r.errorf("SIMD instruction 0xfd %#02x not encoded as wazero reads it", b)
		}
	}
	in.sub = uint32(b)
	switch {
	case vecInvalid[b]:
		return r.errorf("unsupported instruction 0xfd %#02x", b)
	case b <= 11, b == 92, b == 93: // loads, v128.store, load32_zero, load64_zero
		return memArg(r)
	case b == 12, b == 13: // v128.const, i8x16.shuffle
		_, err := r.bytes(16)
		return err
	case b >= 21 && b <= 34: // extract_lane, replace_lane
		_, err := r.byte()
		return err
	case b >= 84 && b <= 91: // load_lane, store_lane
		if err := memArg(r); err != nil {
			return err
		}
		_, err := r.byte()
		return err
	default:
		return nil
	}
}

func memArg(r *reader) error {
	if _, err := r.u32(); err != nil { // alignment
		return err
	}
	_, err := r.u32() // offset
	return err
}

// zeroByte reads a reserved memory index, which wazero requires to be one
// zero byte.
func zeroByte(r *reader) error {
	b, err := r.byte()
	if err != nil {
		return err
	}
	if b != 0 {
		return r.errorf("reserved byte %#02x is not zero", b)
	}
	return nil
}

// valueType reads one value type of WebAssembly 2.0.
func valueType(r *reader) error {
	t, err := r.byte()
	if err != nil {
		return err
	}
	switch t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
		return nil
	}
	return r.errorf("unsupported value type %#02x", t)
}

// cost is an instruction's fuel in wasmtime's unit: nop, drop, block, loop,
// unreachable, return, else and end are free, everything else costs one.
func cost(in *instr) int64 {
	switch in.op {
	case 0x01, 0x1a, 0x02, 0x03, 0x00, 0x0f, 0x05, 0x0b:
		return 0
	}
	return 1
}

func (in *instr) String() string {
	switch in.op {
	case 0xfc, 0xfd:
		return fmt.Sprintf("%#02x %d", in.op, in.sub)
	}
	return fmt.Sprintf("%#02x", in.op)
}
