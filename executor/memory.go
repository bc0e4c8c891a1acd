package executor

import "github.com/tetratelabs/wazero/experimental"

// memoryCap is a per-instantiation experimental.MemoryAllocator: it backs the
// guest's linear memory, refuses growth past the execution's limit (memory.grow
// returns -1 to the guest) and records the peak size. It lets one compiled
// module serve every limit without recompiling (see RATIONALE.md).
//
// Only the goroutine running the guest touches it; it is read after the call.
type memoryCap struct {
	limit uint64 // bytes
	peak  uint64 // bytes
	// overLimit is set when the module's declared minimum is already past the
	// limit: wazero cannot be refused the initial allocation (it would panic),
	// so the allocation succeeds and Execute rejects the instance instead.
	overLimit bool
	buf       []byte
	sized     bool // the initial Reallocate (the module's minimum) happened
}

func newMemoryCap(limitPages uint32) *memoryCap {
	return &memoryCap{limit: uint64(limitPages) * 65536}
}

// Allocate implements experimental.MemoryAllocator.
func (m *memoryCap) Allocate(capacity, _ uint64) experimental.LinearMemory {
	if capacity > m.limit {
		capacity = m.limit
	}
	m.buf = make([]byte, 0, capacity)
	return m
}

// Reallocate implements experimental.LinearMemory.
func (m *memoryCap) Reallocate(size uint64) []byte {
	if size > m.limit {
		if m.sized {
			return nil // memory.grow past the limit: the guest sees -1.
		}
		m.overLimit = true // the initial minimum; see overLimit.
	}
	m.sized = true
	if size <= uint64(cap(m.buf)) {
		// The capacity beyond the old length is zero: make and append zero it.
		m.buf = m.buf[:size]
	} else {
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	}
	if size > m.peak {
		m.peak = size
	}
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *memoryCap) Free() { m.buf = nil }

// peakKB is the peak size in KiB.
func (m *memoryCap) peakKB() int64 { return int64((m.peak + 1023) / 1024) }
