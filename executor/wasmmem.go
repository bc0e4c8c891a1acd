package executor

import (
	"encoding/binary"
	"errors"
)

// declaredMinPages reads the minimum size, in pages, of the memories a module defines itself
// (its memory section), exported or not. wazero only reports exported memories, and the memory
// limit must be checked before instantiation: instantiating allocates the whole minimum.
func declaredMinPages(bin []byte) (uint32, error) {
	if len(bin) < 8 {
		return 0, errors.New("not a wasm module")
	}
	r := wasmReader{b: bin[8:]} // magic and version
	for len(r.b) > 0 {
		id, err := r.byte()
		if err != nil {
			return 0, err
		}
		size, err := r.u32()
		if err != nil {
			return 0, err
		}
		if uint64(size) > uint64(len(r.b)) {
			return 0, errors.New("section past the end of the module")
		}
		body := wasmReader{b: r.b[:size]}
		r.b = r.b[size:]
		if id != 5 { // the memory section
			continue
		}
		count, err := body.u32()
		if err != nil {
			return 0, err
		}
		var most uint32
		for range count {
			flags, err := body.byte()
			if err != nil {
				return 0, err
			}
			minimum, err := body.u64()
			if err != nil {
				return 0, err
			}
			if flags&1 != 0 { // a maximum follows
				if _, err := body.u64(); err != nil {
					return 0, err
				}
			}
			most = max(most, uint32(min(minimum, 1<<32-1)))
		}
		return most, nil
	}
	return 0, nil
}

type wasmReader struct{ b []byte }

var errTruncated = errors.New("truncated module")

func (r *wasmReader) byte() (byte, error) {
	if len(r.b) == 0 {
		return 0, errTruncated
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

func (r *wasmReader) u64() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errTruncated
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *wasmReader) u32() (uint32, error) {
	v, err := r.u64()
	if err != nil {
		return 0, err
	}
	if v > 1<<32-1 {
		return 0, errors.New("integer out of range")
	}
	return uint32(v), nil
}
