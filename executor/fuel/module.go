package fuel

import (
	"bytes"
	"fmt"
)

// Section ids of WebAssembly 2.0.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// sectionRank is the order non-custom sections must appear in (the data
// count section comes before the code section).
var sectionRank = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secGlobal: 6,
	secExport: 7, secStart: 8, secElement: 9, secDataCount: 10, secCode: 11, secData: 12,
}

var sectionName = map[byte]string{
	secCustom: "custom", secType: "type", secImport: "import", secFunction: "function", secTable: "table",
	secMemory: "memory", secGlobal: "global", secExport: "export", secStart: "start", secElement: "element",
	secCode: "code", secData: "data", secDataCount: "data count",
}

// section is one section as it appears in the module.
type section struct {
	id      byte
	content []byte
	off     int // module offset of content
	// vec is the content after a leading vector count, for the sections the
	// rewrite appends to; count is that count.
	count int
	vec   []byte
}

type funcType struct{ params, results []byte }

// module is what the rewrite learns of a module: its sections and the sizes
// of the index spaces it extends.
type module struct {
	sections []section

	types           []funcType
	importedFuncs   []uint32 // type index of each imported function
	importedGlobals int
	funcs           []uint32 // type index of each defined function
	globals         int      // defined globals
	exports         map[string]bool
	hasStart        bool
	start           uint32
}

var wasmHeader = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// parseModule splits bin into sections and reads the ones whose indices the
// rewrite must know or check. Code bodies are read by the rewrite itself.
func parseModule(bin []byte) (*module, error) {
	if len(bin) < len(wasmHeader) || !bytes.Equal(bin[:4], wasmHeader[:4]) {
		return nil, fmt.Errorf("not a WebAssembly module")
	}
	if !bytes.Equal(bin[4:8], wasmHeader[4:]) {
		return nil, fmt.Errorf("unsupported WebAssembly version %x", bin[4:8])
	}
	m := &module{exports: make(map[string]bool)}
	r := newReader(bin[8:], 8)
	rank := 0
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		off := r.at()
		content, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		if id != secCustom {
			rk, ok := sectionRank[id]
			if !ok {
				return nil, fmt.Errorf("at offset %#x: unsupported section id %d", off, id)
			}
			if rk <= rank {
				return nil, fmt.Errorf("at offset %#x: %s section out of order or repeated", off, sectionName[id])
			}
			rank = rk
		}
		m.sections = append(m.sections, section{id: id, content: content, off: off})
	}
	for i := range m.sections {
		s := &m.sections[i]
		if err := m.parseSection(s); err != nil {
			return nil, fmt.Errorf("%s section: %w", sectionName[s.id], err)
		}
	}
	if len(m.funcs) != m.codeCount() {
		return nil, fmt.Errorf("%d functions declared, %d bodies", len(m.funcs), m.codeCount())
	}
	return m, nil
}

func (m *module) codeCount() int {
	for _, s := range m.sections {
		if s.id == secCode {
			return s.count
		}
	}
	return 0
}

func (m *module) numFuncs() int   { return len(m.importedFuncs) + len(m.funcs) }
func (m *module) numGlobals() int { return m.importedGlobals + m.globals }

func (m *module) parseSection(s *section) error {
	r := newReader(s.content, s.off)
	switch s.id {
	case secCustom, secDataCount:
		return nil // copied as they are
	case secStart:
		idx, err := r.u32()
		if err != nil {
			return err
		}
		if int(idx) >= m.numFuncs() {
			return r.errorf("start function %d does not exist", idx)
		}
		if t := m.funcType(idx); len(t.params) != 0 || len(t.results) != 0 {
			return r.errorf("start function %d is not () -> ()", idx)
		}
		m.hasStart, m.start = true, idx
		return m.end(r)
	}
	n, err := r.count()
	if err != nil {
		return err
	}
	s.count, s.vec = n, s.content[r.pos:]
	for range n {
		switch s.id {
		case secType:
			err = m.readType(r)
		case secImport:
			err = m.readImport(r)
		case secFunction:
			var t uint32
			if t, err = r.u32(); err == nil && int(t) >= len(m.types) {
				err = r.errorf("type %d does not exist", t)
			}
			m.funcs = append(m.funcs, t)
		case secTable: // read only to refuse counts larger than the section
			if t, e := r.byte(); e != nil || (t != 0x70 && t != 0x6f) {
				err = r.errorf("unsupported table element type")
			} else {
				err = limits(r)
			}
		case secMemory:
			err = limits(r)
		case secGlobal:
			if err = valueType(r); err == nil {
				err = mutability(r)
			}
			if err == nil {
				err = m.constExpr(r)
			}
			m.globals++
		case secExport:
			err = m.readExport(r)
		case secElement:
			err = m.readElement(r)
		case secData:
			err = m.readData(r)
		case secCode:
			var size uint32
			if size, err = r.u32(); err == nil {
				_, err = r.bytes(int(size))
			}
		}
		if err != nil {
			return err
		}
	}
	return m.end(r)
}

// end checks that a section has no bytes past its contents, as wazero does.
func (m *module) end(r *reader) error {
	if !r.eof() {
		return r.errorf("%d bytes past the end of the section's contents", len(r.b)-r.pos)
	}
	return nil
}

func (m *module) funcType(idx uint32) funcType {
	if int(idx) < len(m.importedFuncs) {
		return m.types[m.importedFuncs[idx]]
	}
	return m.types[m.funcs[int(idx)-len(m.importedFuncs)]]
}

func (m *module) readType(r *reader) error {
	form, err := r.byte()
	if err != nil {
		return err
	}
	if form != 0x60 {
		return r.errorf("unsupported type form %#02x", form)
	}
	var t funcType
	for _, dst := range []*[]byte{&t.params, &t.results} {
		n, err := r.count()
		if err != nil {
			return err
		}
		start := r.pos
		for range n {
			if err := valueType(r); err != nil {
				return err
			}
		}
		*dst = r.b[start:r.pos]
	}
	m.types = append(m.types, t)
	return nil
}

func (m *module) readImport(r *reader) error {
	for range 2 { // module and field names
		if _, err := r.name(); err != nil {
			return err
		}
	}
	kind, err := r.byte()
	if err != nil {
		return err
	}
	switch kind {
	case 0x00: // function
		t, err := r.u32()
		if err != nil {
			return err
		}
		if int(t) >= len(m.types) {
			return r.errorf("type %d does not exist", t)
		}
		m.importedFuncs = append(m.importedFuncs, t)
		return nil
	case 0x01: // table
		if t, err := r.byte(); err != nil || (t != 0x70 && t != 0x6f) {
			return r.errorf("unsupported table element type")
		}
		return limits(r)
	case 0x02: // memory
		return limits(r)
	case 0x03: // global
		m.importedGlobals++
		if err := valueType(r); err != nil {
			return err
		}
		return mutability(r)
	default:
		return r.errorf("unsupported import kind %#02x", kind)
	}
}

func limits(r *reader) error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 3 { // 64-bit memories and other proposals
		return r.errorf("unsupported limits flags %#02x", flags)
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.u32()
	}
	return err
}

func mutability(r *reader) error {
	if b, err := r.byte(); err != nil || b > 1 {
		return r.errorf("invalid global mutability")
	}
	return nil
}

func (m *module) readExport(r *reader) error {
	name, err := r.name()
	if err != nil {
		return err
	}
	kind, err := r.byte()
	if err != nil {
		return err
	}
	idx, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case kind == 0x00 && int(idx) >= m.numFuncs():
		return r.errorf("export %q: function %d does not exist", name, idx)
	case kind == 0x03 && int(idx) >= m.numGlobals():
		return r.errorf("export %q: global %d does not exist", name, idx)
	case kind > 0x03:
		return r.errorf("export %q: unsupported kind %#02x", name, kind)
	}
	m.exports[name] = true
	return nil
}

func (m *module) readElement(r *reader) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	if flags > 7 {
		return r.errorf("unsupported element segment flags %d", flags)
	}
	if flags == 2 || flags == 6 { // explicit table index
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	if flags&1 == 0 { // active: an offset
		if err := m.constExpr(r); err != nil {
			return err
		}
	}
	if flags&3 != 0 { // element kind or reference type
		if _, err := r.byte(); err != nil {
			return err
		}
	}
	n, err := r.count()
	if err != nil {
		return err
	}
	for range n {
		if flags&4 != 0 { // expressions
			err = m.constExpr(r)
		} else {
			var f uint32
			if f, err = r.u32(); err == nil && int(f) >= m.numFuncs() {
				err = r.errorf("element refers to function %d, which does not exist", f)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *module) readData(r *reader) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	switch flags {
	case 0:
		err = m.constExpr(r)
	case 1:
	case 2:
		if _, err = r.u32(); err == nil {
			err = m.constExpr(r)
		}
	default:
		return r.errorf("unsupported data segment flags %d", flags)
	}
	if err != nil {
		return err
	}
	_, err = r.name() // the bytes
	return err
}

// constExpr reads a constant expression and checks the indices it uses.
func (m *module) constExpr(r *reader) error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41:
			_, err = r.sleb(32)
		case 0x42:
			_, err = r.sleb(64)
		case 0x43:
			_, err = r.bytes(4)
		case 0x44:
			_, err = r.bytes(8)
		case 0xd0:
			_, err = r.byte()
		case 0xd2, 0x23: // ref.func, global.get
			var idx uint32
			if idx, err = r.u32(); err == nil {
				if op == 0xd2 && int(idx) >= m.numFuncs() {
					err = r.errorf("ref.func %d: no such function", idx)
				}
				if op == 0x23 && int(idx) >= m.numGlobals() {
					err = r.errorf("global.get %d: no such global", idx)
				}
			}
		case 0xfd: // v128.const
			var sub byte
			if sub, err = r.byte(); err == nil && sub != 12 {
				err = r.errorf("unsupported constant instruction 0xfd %d", sub)
			}
			if err == nil {
				_, err = r.bytes(16)
			}
		default:
			return r.errorf("unsupported constant instruction %#02x", op)
		}
		if err != nil {
			return err
		}
	}
}

// CheckStructure reads a module's sections and refuses one whose declared vector counts do not
// fit their sections, or whose sections are out of order. wazero's decoder allocates by a
// declared count before reading the elements, so a 17-byte module declaring a billion tables
// made it allocate gigabytes; the executor checks every module with this before compiling it.
// It does not decode function bodies.
func CheckStructure(bin []byte) error {
	_, err := parseModule(bin)
	return err
}
