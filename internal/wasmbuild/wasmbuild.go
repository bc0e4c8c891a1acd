// Package wasmbuild assembles small WebAssembly modules from Go: the few sections and
// instructions that hand-written test functions and the tiny example need. It exists because Go
// cannot produce a module with an exact shape (one import, no runtime start-up), and the
// repository has no WebAssembly text assembler; it is not a general encoder.
package wasmbuild

import (
	"bytes"
)

// ValType is a WebAssembly value type.
type ValType byte

// The value types.
const (
	I32 ValType = 0x7f
	I64 ValType = 0x7e
	F32 ValType = 0x7d
	F64 ValType = 0x7c
)

// Module is a module being assembled. Function indices count imports first, in the order
// they were added, then functions.
type Module struct {
	types   [][2][]ValType
	imports []imported
	funcs   []function
	exports []export
	memory  *memory
	data    []segment
}

type imported struct {
	module, name string
	typ          int
}

type function struct {
	typ    int
	locals []ValType
	body   []byte
}

type export struct {
	name  string
	kind  byte
	index uint32
}

type memory struct{ min uint32 }

type segment struct {
	offset int32
	bytes  []byte
}

// New returns an empty module.
func New() *Module { return &Module{} }

func (m *Module) typeOf(params, results []ValType) int {
	for i, t := range m.types {
		if bytes.Equal(vt(t[0]), vt(params)) && bytes.Equal(vt(t[1]), vt(results)) {
			return i
		}
	}
	m.types = append(m.types, [2][]ValType{params, results})
	return len(m.types) - 1
}

// Import adds a function import and returns its index. Call it before Func.
func (m *Module) Import(module, name string, params, results []ValType) uint32 {
	if len(m.funcs) > 0 {
		panic("wasmbuild: imports must come before functions")
	}
	m.imports = append(m.imports, imported{module: module, name: name, typ: m.typeOf(params, results)})
	return uint32(len(m.imports) - 1)
}

// Func adds a function with the given locals (beyond its parameters) and body (instructions
// without the final end), and returns its index.
func (m *Module) Func(params, results, locals []ValType, body []byte) uint32 {
	m.funcs = append(m.funcs, function{typ: m.typeOf(params, results), locals: locals, body: body})
	return uint32(len(m.imports) + len(m.funcs) - 1)
}

// ExportFunc exports function index under name.
func (m *Module) ExportFunc(name string, index uint32) {
	m.exports = append(m.exports, export{name: name, kind: 0x00, index: index})
}

// Memory gives the module one memory of min pages (64 KiB each), exported under name unless
// name is empty.
func (m *Module) Memory(min uint32, name string) {
	m.memory = &memory{min: min}
	if name != "" {
		m.exports = append(m.exports, export{name: name, kind: 0x02, index: 0})
	}
}

// Data adds an active data segment of memory 0 at offset.
func (m *Module) Data(offset int32, b []byte) {
	m.data = append(m.data, segment{offset: offset, bytes: b})
}

// Bytes encodes the module.
func (m *Module) Bytes() []byte {
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	section := func(id byte, count int, content []byte) {
		if count == 0 {
			return
		}
		s := AppendU32(nil, uint32(count))
		s = append(s, content...)
		out = append(out, id)
		out = AppendU32(out, uint32(len(s)))
		out = append(out, s...)
	}
	var b []byte
	for _, t := range m.types {
		b = append(b, 0x60)
		b = appendVec(b, vt(t[0]))
		b = appendVec(b, vt(t[1]))
	}
	section(1, len(m.types), b)
	b = nil
	for _, im := range m.imports {
		b = appendName(b, im.module)
		b = appendName(b, im.name)
		b = append(b, 0x00)
		b = AppendU32(b, uint32(im.typ))
	}
	section(2, len(m.imports), b)
	b = nil
	for _, f := range m.funcs {
		b = AppendU32(b, uint32(f.typ))
	}
	section(3, len(m.funcs), b)
	if m.memory != nil {
		section(5, 1, AppendU32([]byte{0x00}, m.memory.min))
	}
	b = nil
	for _, e := range m.exports {
		b = appendName(b, e.name)
		b = append(b, e.kind)
		b = AppendU32(b, e.index)
	}
	section(7, len(m.exports), b)
	b = nil
	for _, f := range m.funcs {
		var body []byte
		body = AppendU32(body, uint32(len(f.locals)))
		for _, l := range f.locals {
			body = append(body, 0x01, byte(l)) // one run per local keeps it simple
		}
		body = append(body, f.body...)
		body = append(body, End)
		b = AppendU32(b, uint32(len(body)))
		b = append(b, body...)
	}
	section(10, len(m.funcs), b)
	b = nil
	for _, d := range m.data {
		b = append(b, 0x00) // active, memory 0
		b = append(b, I32Const)
		b = AppendS32(b, d.offset)
		b = append(b, End)
		b = appendVec(b, d.bytes)
	}
	section(11, len(m.data), b)
	return out
}

func vt(ts []ValType) []byte {
	b := make([]byte, len(ts))
	for i, t := range ts {
		b[i] = byte(t)
	}
	return b
}

func appendVec(b, v []byte) []byte { return append(AppendU32(b, uint32(len(v))), v...) }

func appendName(b []byte, s string) []byte { return appendVec(b, []byte(s)) }

// AppendU32 appends v as unsigned LEB128.
func AppendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// AppendS32 appends v as signed LEB128.
func AppendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
