package wasmbuild

// Opcodes of the instructions Code writes, and a few for hand-written bodies.
const (
	Unreachable byte = 0x00
	Block       byte = 0x02
	Loop        byte = 0x03
	If          byte = 0x04
	Else        byte = 0x05
	End         byte = 0x0b
	Br          byte = 0x0c
	BrIf        byte = 0x0d
	Return      byte = 0x0f
	Call        byte = 0x10
	Drop        byte = 0x1a
	LocalGet    byte = 0x20
	LocalSet    byte = 0x21
	LocalTee    byte = 0x22
	I32Load     byte = 0x28
	I32Load8U   byte = 0x2d
	I32Store    byte = 0x36
	I32Store8   byte = 0x3a
	MemorySize  byte = 0x3f
	MemoryGrow  byte = 0x40
	I32Const    byte = 0x41
	I32Eqz      byte = 0x45
	I32Eq       byte = 0x46
	I32Ne       byte = 0x47
	I32LtU      byte = 0x49
	I32GtU      byte = 0x4b
	I32GeU      byte = 0x4f
	I32Add      byte = 0x6a
	I32Sub      byte = 0x6b
	I32Mul      byte = 0x6c
	I32DivS     byte = 0x6d
)

// blockVoid is the empty block type of block, loop and if.
const blockVoid = 0x40

// Code is a function body under construction. Its methods append one instruction each and
// return the Code, so a body reads top to bottom.
type Code struct{ b []byte }

// Bytes is the body so far (without the function's final end, which Module adds).
func (c *Code) Bytes() []byte { return c.b }

// Op appends instructions without immediates.
func (c *Code) Op(ops ...byte) *Code { c.b = append(c.b, ops...); return c }

// Const appends i32.const v.
func (c *Code) Const(v int32) *Code { c.b = AppendS32(append(c.b, I32Const), v); return c }

// Get appends local.get i.
func (c *Code) Get(i uint32) *Code { c.b = AppendU32(append(c.b, LocalGet), i); return c }

// Set appends local.set i.
func (c *Code) Set(i uint32) *Code { c.b = AppendU32(append(c.b, LocalSet), i); return c }

// Call appends call f.
func (c *Code) Call(f uint32) *Code { c.b = AppendU32(append(c.b, Call), f); return c }

// Br appends br depth; BrIf br_if depth.
func (c *Code) Br(depth uint32) *Code   { c.b = AppendU32(append(c.b, Br), depth); return c }
func (c *Code) BrIf(depth uint32) *Code { c.b = AppendU32(append(c.b, BrIf), depth); return c }

// Block, Loop and If open a structured instruction with no results; End closes one.
func (c *Code) Block() *Code { c.b = append(c.b, Block, blockVoid); return c }
func (c *Code) Loop() *Code  { c.b = append(c.b, Loop, blockVoid); return c }
func (c *Code) If() *Code    { c.b = append(c.b, If, blockVoid); return c }
func (c *Code) End() *Code   { c.b = append(c.b, End); return c }

// Load and Store access an aligned i32 at the address on the stack plus offset; Load8U and
// Store8 one byte.
func (c *Code) Load(offset uint32) *Code  { return c.mem(I32Load, 2, offset) }
func (c *Code) Store(offset uint32) *Code { return c.mem(I32Store, 2, offset) }
func (c *Code) Load8U(offset uint32) *Code {
	return c.mem(I32Load8U, 0, offset)
}
func (c *Code) Store8(offset uint32) *Code { return c.mem(I32Store8, 0, offset) }

func (c *Code) mem(op byte, align, offset uint32) *Code {
	c.b = AppendU32(AppendU32(append(c.b, op), align), offset)
	return c
}

// Grow appends memory.grow on memory 0: the pages to add are on the stack, the old size (or -1)
// is left there.
func (c *Code) Grow() *Code { c.b = append(c.b, MemoryGrow, 0x00); return c }
