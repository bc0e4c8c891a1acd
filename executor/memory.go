package executor

import (
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// maxPooledMemory is the largest linear memory kept on the Go heap, whose buffer is kept for
// the next execution. A memory that grows past it moves to pages mapped outside the heap (see
// memoryCap), so a large guest neither makes the collector work nor stays in the node's memory
// after it ends.
const maxPooledMemory = 4 << 20

// memoryPool recycles zeroed linear-memory buffers between executions, so a
// warm execution does not allocate and clear a fresh large object each time.
type memoryPool struct{ pool sync.Pool }

func (p *memoryPool) get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

// put takes a buffer whose first used bytes may be dirty.
func (p *memoryPool) put(b []byte, used int) {
	if cap(b) == 0 || cap(b) > maxPooledMemory {
		return
	}
	clear(b[:used])
	b = b[:0]
	p.pool.Put(&b)
}

// memoryCap is a per-instantiation experimental.MemoryAllocator: it backs the
// guest's linear memory, refuses growth past the execution's limit (memory.grow
// returns -1 to the guest) and records the peak size. It lets one compiled
// module serve every limit without recompiling (see RATIONALE.md).
//
// Only the goroutine running the guest touches it (wazero frees it when the
// module is closed, on that goroutine); it is read after the call.
type memoryCap struct {
	limit uint64 // bytes
	peak  uint64 // bytes
	// overLimit is set when the module's declared minimum is already past the
	// limit: wazero cannot be refused the initial allocation (it would panic),
	// so the allocation succeeds and Execute rejects the instance instead.
	overLimit bool
	sized     bool // the initial Reallocate (the module's minimum) happened
	buf       []byte
	pool      *memoryPool
	// mapped is the region outside the Go heap that buf lives in once the memory grew past
	// maxPooledMemory: limit bytes reserved, committed as the guest touches them, and
	// unmapped at Free. Growing inside it needs no copy.
	mapped []byte
	// onHeap counts the bytes guest memories hold on the Go heap across executions (the
	// executor's), for the node's memory limit; nil for none.
	onHeap  *atomic.Int64
	counted int64
}

func newMemoryCap(limitPages uint32, pool *memoryPool, onHeap *atomic.Int64) *memoryCap {
	return &memoryCap{limit: uint64(limitPages) * 65536, pool: pool, onHeap: onHeap}
}

// account records that buf now holds n bytes of the Go heap.
func (m *memoryCap) account(n int64) {
	if m.onHeap != nil && n != m.counted {
		m.onHeap.Add(n - m.counted)
	}
	m.counted = n
}

// Allocate implements experimental.MemoryAllocator.
func (m *memoryCap) Allocate(capacity, _ uint64) experimental.LinearMemory {
	if m.pool != nil {
		m.buf = m.pool.get()
	}
	if uint64(cap(m.buf)) < capacity && capacity <= maxPooledMemory {
		m.buf = make([]byte, 0, min(capacity, m.limit))
	}
	m.account(int64(cap(m.buf)))
	return m
}

// Reallocate implements experimental.LinearMemory. Memory only grows, and
// every byte past the length is zero (make, append and the pool clear them).
func (m *memoryCap) Reallocate(size uint64) []byte {
	if size > m.limit {
		if m.sized {
			return nil // memory.grow past the limit: the guest sees -1.
		}
		m.overLimit = true // the initial minimum; see overLimit.
	}
	m.sized = true
	switch {
	case size <= uint64(cap(m.buf)):
		m.buf = m.buf[:size]
	case size > maxPooledMemory && m.mapped == nil && size <= m.limit && m.mapOutsideHeap():
		m.buf = m.mapped[:size]
	default:
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
		m.account(int64(cap(m.buf)))
	}
	m.peak = max(m.peak, size)
	return m.buf
}

// mapOutsideHeap moves the memory into a region of limit bytes outside the Go heap. It
// reports false when no region could be mapped; the memory then stays on the heap.
func (m *memoryCap) mapOutsideHeap() bool {
	region, err := mapMemory(m.limit)
	if err != nil {
		return false
	}
	copy(region, m.buf)
	if m.pool != nil {
		m.pool.put(m.buf, len(m.buf))
	}
	m.mapped = region
	m.account(0)
	return true
}

// Free implements experimental.LinearMemory.
func (m *memoryCap) Free() {
	switch {
	case m.mapped != nil:
		unmapMemory(m.mapped)
		m.mapped = nil
	case m.pool != nil:
		m.pool.put(m.buf, len(m.buf))
	}
	m.account(0)
	m.buf = nil
}

// peakKB is the peak size in KiB.
func (m *memoryCap) peakKB() int64 { return int64((m.peak + 1023) / 1024) }
