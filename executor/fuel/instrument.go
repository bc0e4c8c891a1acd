package fuel

import (
	"fmt"
	"slices"
)

// The exports an instrumented module adds. A module that already exports one
// of these names is refused.
const (
	// ExportRemaining is the mutable i64 global holding the fuel left. Arm
	// sets it; the module never takes it below zero.
	ExportRemaining = "b7s:fuel:remaining"
	// ExportExhausted is the i32 global the module sets to 1 just before it
	// stops itself for lack of fuel.
	ExportExhausted = "b7s:fuel:exhausted"
	// ExportStart is the module's start function, when it had one: the
	// rewrite removes the start section, which would run before Arm could
	// give it fuel, and Start calls it instead.
	ExportStart = "b7s:fuel:start"
)

// Module is an instrumented module.
type Module struct {
	// Binary is the rewritten module.
	Binary []byte
	// HasStart says the original had a start function; see ExportStart.
	HasStart bool
}

// Instrument rewrites a module so that it meters itself. Every basic block
// (a straight run of instructions entered only at its top: a function body's
// start, a loop header, either arm of an if, the code after a br_if, after
// the end of a block that is branched to or of an if) first charges its cost,
// the number of non-free operators in it, against the ExportRemaining
// global. A block whose cost is more than what is left does not run: the
// module sets ExportExhausted and traps with unreachable, leaving the
// remaining fuel as it was before that block.
//
// A run that completes has therefore consumed exactly its count of executed
// operators, the same number on every machine; a run stopped by a trap or an
// exit in the middle of a block has been charged for that whole block.
//
// Instrument refuses modules it cannot rewrite faithfully: malformed ones,
// ones using proposals wazero does not enable by default, and ones that
// address an index the rewrite adds.
func Instrument(bin []byte) (Module, error) {
	return instrument(bin, false)
}

// instrument is Instrument; perOperator charges every operator on its own
// (a reference the tests compare the basic-block charges with).
func instrument(bin []byte, perOperator bool) (Module, error) {
	m, err := parseModule(bin)
	if err != nil {
		return Module{}, fmt.Errorf("instrument for fuel: %w", err)
	}
	for _, name := range []string{ExportRemaining, ExportExhausted, ExportStart} {
		if m.exports[name] {
			return Module{}, fmt.Errorf("instrument for fuel: the module already exports %q", name)
		}
	}
	w := &rewriter{
		m:           m,
		perOperator: perOperator,
		origTypes:   len(m.types),
		fuelGlobal:  uint32(m.numGlobals()),
		flagGlobal:  uint32(m.numGlobals() + 1),
		stopFunc:    uint32(m.numFuncs()),
		stopType:    uint32(len(m.types)),
	}
	newType := true
	for i, t := range m.types {
		if string(t.params) == "\x7e" && len(t.results) == 0 { // (i64) -> ()
			w.stopType, newType = uint32(i), false
			break
		}
	}
	out, err := w.module(newType)
	if err != nil {
		return Module{}, fmt.Errorf("instrument for fuel: %w", err)
	}
	return Module{Binary: out, HasStart: m.hasStart}, nil
}

type rewriter struct {
	m           *module
	perOperator bool
	origTypes   int
	fuelGlobal  uint32 // ExportRemaining's index
	flagGlobal  uint32 // ExportExhausted's index
	stopFunc    uint32 // the function that sets the flag and traps
	stopType    uint32 // its type, (i64) -> ()

	// per body, reused
	in     instr
	frames []frame
	seg    []byte
}

// module writes the instrumented module: the original sections in order,
// those the rewrite extends rewritten, the missing ones added where they go.
func (w *rewriter) module(newType bool) ([]byte, error) {
	m := w.m
	added := map[byte][]byte{} // section id -> new content
	appendVec := func(id byte, n int, extra []byte) {
		count, vec := 0, []byte(nil)
		for _, s := range m.sections {
			if s.id == id {
				count, vec = s.count, s.vec
			}
		}
		c := appendU32(nil, uint32(count+n))
		c = append(c, vec...)
		added[id] = append(c, extra...)
	}
	if newType {
		appendVec(secType, 1, []byte{0x60, 0x01, 0x7e, 0x00})
	}
	appendVec(secFunction, 1, appendU32(nil, w.stopType))
	appendVec(secGlobal, 2, []byte{
		0x7e, 0x01, 0x42, 0x00, 0x0b, // remaining: mut i64 = 0, so nothing runs before Arm
		0x7f, 0x01, 0x41, 0x00, 0x0b, // exhausted: mut i32 = 0
	})
	var exports []byte
	exports = appendName(exports, ExportRemaining)
	exports = appendU32(append(exports, 0x03), w.fuelGlobal)
	exports = appendName(exports, ExportExhausted)
	exports = appendU32(append(exports, 0x03), w.flagGlobal)
	nExports := 2
	if m.hasStart {
		exports = appendName(exports, ExportStart)
		exports = appendU32(append(exports, 0x00), m.start)
		nExports++
	}
	appendVec(secExport, nExports, exports)
	code, err := w.code()
	if err != nil {
		return nil, err
	}
	added[secCode] = code

	out := slices.Clone(wasmHeader)
	writeSection := func(id byte, content []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(content)))
		out = append(out, content...)
	}
	// Each added section goes before the first original section ranked
	// after it; custom sections stay where they were.
	pending := []byte{secType, secFunction, secGlobal, secExport, secCode}
	flushBefore := func(rank int) {
		for len(pending) > 0 && sectionRank[pending[0]] < rank {
			if c, ok := added[pending[0]]; ok {
				writeSection(pending[0], c)
			}
			pending = pending[1:]
		}
	}
	for _, s := range m.sections {
		if s.id == secCustom {
			writeSection(s.id, s.content)
			continue
		}
		rank := sectionRank[s.id]
		flushBefore(rank)
		if c, ok := added[s.id]; ok {
			writeSection(s.id, c)
			pending = slices.DeleteFunc(pending, func(id byte) bool { return id == s.id })
			continue
		}
		if s.id == secStart {
			continue // replaced by ExportStart
		}
		writeSection(s.id, s.content)
	}
	flushBefore(len(sectionRank) + 1)
	return out, nil
}

// code rewrites every function body and adds the one that stops the module.
func (w *rewriter) code() ([]byte, error) {
	var vec []byte
	var off int
	for _, s := range w.m.sections {
		if s.id == secCode {
			vec, off = s.vec, s.off+len(s.content)-len(s.vec)
		}
	}
	out := appendU32(nil, uint32(len(w.m.funcs)+1))
	r := newReader(vec, off)
	var body []byte
	for i := range w.m.funcs {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		bodyOff := r.at()
		b, err := r.bytes(int(size))
		if err != nil {
			return nil, err
		}
		body, err = w.body(body[:0], b, bodyOff, i)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", len(w.m.importedFuncs)+i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	// stop(cost): give the block's cost back, so that the remaining fuel is
	// what it was before the block, say why, and trap.
	stop := []byte{0x00} // no locals
	stop = appendU32(append(stop, 0x23), w.fuelGlobal)
	stop = append(stop, 0x20, 0x00, 0x7c) // local.get 0, i64.add
	stop = appendU32(append(stop, 0x24), w.fuelGlobal)
	stop = append(stop, 0x41, 0x01) // i32.const 1
	stop = appendU32(append(stop, 0x24), w.flagGlobal)
	stop = append(stop, 0x00, 0x0b) // unreachable, end
	out = appendU32(out, uint32(len(stop)))
	return append(out, stop...), nil
}

// frame is an open block, loop or if of the body being rewritten.
type frame struct {
	kind kind // kindBlock (also the function's own frame), kindLoop, kindIf or kindElse
	// reachable: the frame was entered from reachable code.
	reachable bool
	// targeted: a branch goes to the frame's end. (A loop's label is its
	// start, already a block boundary.)
	targeted bool
}

// body rewrites one function body into out.
func (w *rewriter) body(out, body []byte, off, index int) ([]byte, error) {
	r := newReader(body, off)
	n, err := r.count()
	if err != nil {
		return nil, err
	}
	for range n {
		if _, err := r.u32(); err != nil {
			return nil, err
		}
		if err := valueType(r); err != nil {
			return nil, err
		}
	}
	out = append(out, body[:r.pos]...) // the locals, as they were

	w.frames = append(w.frames[:0], frame{kind: kindBlock, reachable: true})
	w.seg = w.seg[:0]
	var blockCost int64
	reachable := true
	// flush ends the current basic block: its charge, then its code.
	flush := func() {
		if blockCost > 0 {
			out = w.charge(out, blockCost)
		}
		out = append(out, w.seg...)
		w.seg, blockCost = w.seg[:0], 0
	}
	in := &w.in
	for {
		if r.eof() {
			return nil, r.errorf("function body ends before its end instruction")
		}
		if err := decodeInstr(r, in); err != nil {
			return nil, err
		}
		if err := w.check(r, in); err != nil {
			return nil, err
		}
		c := cost(in)
		if w.perOperator && c > 0 {
			w.seg = w.charge(w.seg, c)
		} else if reachable {
			blockCost += c
		}
		w.seg = append(w.seg, body[in.start:r.pos]...)

		switch in.kind {
		case kindBlock:
			w.frames = append(w.frames, frame{kind: kindBlock, reachable: reachable})
		case kindLoop, kindIf:
			w.frames = append(w.frames, frame{kind: in.kind, reachable: reachable})
			flush()
		case kindElse:
			top := &w.frames[len(w.frames)-1]
			if len(w.frames) == 1 || top.kind != kindIf {
				return nil, r.errorf("else outside an if")
			}
			top.kind = kindElse
			flush()
			reachable = top.reachable
		case kindEnd:
			top := w.frames[len(w.frames)-1]
			w.frames = w.frames[:len(w.frames)-1]
			if len(w.frames) == 0 {
				flush()
				if !r.eof() {
					return nil, r.errorf("%d bytes after the function's end", len(r.b)-r.pos)
				}
				return out, nil
			}
			// The code after an if, or after a block something branches
			// to, has more than one way in: a new basic block. After a loop,
			// or a block nothing branches to, the code just goes on.
			if top.kind == kindIf || top.kind == kindElse || (top.kind == kindBlock && top.targeted) {
				flush()
				reachable = top.reachable
			}
		case kindBrIf:
			if err := w.target(r, in.imm); err != nil {
				return nil, err
			}
			flush()
		case kindBr:
			if err := w.target(r, in.imm); err != nil {
				return nil, err
			}
			flush()
			reachable = false
		case kindBrTable:
			for _, l := range in.labels {
				if err := w.target(r, l); err != nil {
					return nil, err
				}
			}
			flush()
			reachable = false
		case kindReturn, kindUnreachable:
			flush()
			reachable = false
		}
	}
}

// target marks the frame a branch label refers to.
func (w *rewriter) target(r *reader, label uint32) error {
	if int(label) >= len(w.frames) {
		return r.errorf("branch to label %d at depth %d", label, len(w.frames))
	}
	w.frames[len(w.frames)-1-int(label)].targeted = true
	return nil
}

// check refuses an index into a space the rewrite extends that the original
// module did not have: the module could otherwise reach the fuel counter or
// the stop function.
func (w *rewriter) check(r *reader, in *instr) error {
	switch in.kind {
	case kindBlock, kindLoop, kindIf:
		if in.block >= 0 && in.block >= int64(w.origTypes) {
			return r.errorf("block type %d does not exist", in.block)
		}
	case kindCall, kindRefFunc:
		if int(in.imm) >= w.m.numFuncs() {
			return r.errorf("function %d does not exist", in.imm)
		}
	case kindCallIndirect:
		if int(in.imm) >= w.origTypes {
			return r.errorf("type %d does not exist", in.imm)
		}
	case kindGlobal:
		if int(in.imm) >= w.m.numGlobals() {
			return r.errorf("global %d does not exist", in.imm)
		}
	}
	return nil
}

// charge appends the charge of one basic block:
//
//	global.get $remaining; i64.const cost; i64.sub; global.set $remaining
//	global.get $remaining; i64.const 0; i64.lt_s
//	if; i64.const cost; call $stop; end
//
// The sequence leaves the operand stack as it found it, so it is valid at
// the start of any block, whatever the block's parameters.
func (w *rewriter) charge(out []byte, cost int64) []byte {
	out = appendU32(append(out, 0x23), w.fuelGlobal)
	out = appendSLEB(append(out, 0x42), cost)
	out = append(out, 0x7d) // i64.sub
	out = appendU32(append(out, 0x24), w.fuelGlobal)
	out = appendU32(append(out, 0x23), w.fuelGlobal)
	out = append(out, 0x42, 0x00, 0x53, 0x04, 0x40) // i64.const 0, i64.lt_s, if (empty)
	out = appendSLEB(append(out, 0x42), cost)
	out = appendU32(append(out, 0x10), w.stopFunc)
	return append(out, 0x0b)
}
