package fuel

import (
	"errors"
	"fmt"
)

// The binary format's building blocks: LEB128 integers, vectors, names.
// Integers are read as wazero reads them (at most 5 bytes for 32 bits, 10 for
// 64), so that an instruction has the same length for the rewrite as for the
// compiler.

var errTruncated = errors.New("unexpected end")

// reader reads one region of a module; off is the region's offset in the
// module, so errors can say where they are.
type reader struct {
	b   []byte
	pos int
	off int
}

func newReader(b []byte, off int) *reader { return &reader{b: b, off: off} }

func (r *reader) eof() bool { return r.pos >= len(r.b) }

// at is the module offset of the next byte.
func (r *reader) at() int { return r.off + r.pos }

func (r *reader) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %#x: %s", r.at(), fmt.Sprintf(format, args...))
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.errorf("%v", errTruncated)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.pos {
		return nil, r.errorf("%v: %d bytes wanted, %d left", errTruncated, n, len(r.b)-r.pos)
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s, nil
}

// uleb reads an unsigned LEB128 integer of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	maxLen := int((bits + 6) / 7)
	for i := 0; i < maxLen; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c&0x80 == 0 {
			if i == maxLen-1 && uint64(c&0x7f)>>(bits-7*uint(i)) != 0 {
				return 0, r.errorf("integer overflows %d bits", bits)
			}
			return v, nil
		}
	}
	return 0, r.errorf("integer longer than %d bytes", maxLen)
}

// sleb reads a signed LEB128 integer of at most bits bits. Only its length
// matters to the rewrite, which copies constants as they are.
func (r *reader) sleb(bits uint) (int64, error) {
	var v int64
	var shift uint
	maxLen := int((bits + 6) / 7)
	for i := 0; i < maxLen; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, r.errorf("integer longer than %d bytes", maxLen)
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// count reads a vector length, bounded by what is left (every element takes
// at least one byte), so a hostile length cannot make us allocate.
func (r *reader) count() (int, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if int(n) > len(r.b)-r.pos {
		return 0, r.errorf("vector of %d elements in %d bytes", n, len(r.b)-r.pos)
	}
	return int(n), nil
}

// name reads a length-prefixed byte string.
func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(int(n))
	return string(b), err
}

func appendU32(b []byte, v uint32) []byte { return appendULEB(b, uint64(v)) }

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
