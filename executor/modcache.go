package executor

import (
	"container/list"
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
)

// compiled is one function compiled once and shared by its executions.
type compiled struct {
	key moduleKey
	id  fileID
	mod wazero.CompiledModule
	// hasStart: the metered module's start function is the export
	// fuel.ExportStart, to be called once the instance has its fuel.
	hasStart bool
	// minPages is the largest declared minimum of the module's memories.
	minPages uint32
	err      error
	ready    chan struct{} // closed when mod or err is set

	// Guarded by moduleCache.mu.
	refs    int
	evicted bool
	elem    *list.Element
}

// fileID tells a rewritten module file from the one that was compiled.
type fileID struct {
	size  int64
	mtime time.Time
}

// moduleKey names a compiled module: a file, plain or instrumented for fuel.
type moduleKey struct {
	path    string
	metered bool
}

// compileFunc reads and compiles one module file, instrumented for fuel when
// key.metered.
type compileFunc func(ctx context.Context, key moduleKey) (compiledCode, error)

// compiledCode is what a compileFunc produces.
type compiledCode struct {
	mod      wazero.CompiledModule
	minPages uint32
	hasStart bool
}

// moduleCache is the bounded in-memory cache of compiled functions: least
// recently used first out, one compilation per file at a time, and a module
// is closed only once no execution holds it.
type moduleCache struct {
	compile compileFunc
	max     int

	mu      sync.Mutex
	entries map[moduleKey]*compiled
	lru     *list.List // front: most recently used
}

func newModuleCache(max int, compile compileFunc) *moduleCache {
	return &moduleCache{compile: compile, max: max, entries: make(map[moduleKey]*compiled), lru: list.New()}
}

// acquire returns the compiled module for key, compiling it if needed. The
// caller must release it.
func (c *moduleCache) acquire(ctx context.Context, key moduleKey) (*compiled, error) {
	st, err := os.Stat(key.path)
	if err != nil {
		return nil, fmt.Errorf("read module: %w", err)
	}
	id := fileID{size: st.Size(), mtime: st.ModTime()}

	c.mu.Lock()
	e := c.entries[key]
	if e != nil && e.id == id {
		e.refs++
		c.lru.MoveToFront(e.elem)
		c.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			c.release(e)
			return nil, fmt.Errorf("wait for compilation: %w", ctx.Err())
		}
		if e.err != nil {
			c.release(e)
			return nil, e.err
		}
		return e, nil
	}
	if e != nil {
		c.removeLocked(e) // the file changed since it was compiled
	}
	e = &compiled{key: key, id: id, ready: make(chan struct{}), refs: 1}
	c.entries[key] = e
	e.elem = c.lru.PushFront(e)
	for c.lru.Len() > c.max {
		c.removeLocked(c.lru.Back().Value.(*compiled))
	}
	c.mu.Unlock()

	// Waiters share this compilation; one caller giving up must not fail it.
	code, err := c.compile(context.WithoutCancel(ctx), key)
	e.mod, e.minPages, e.hasStart, e.err = code.mod, code.minPages, code.hasStart, err
	close(e.ready)
	if e.err != nil {
		c.mu.Lock()
		c.removeLocked(e) // do not cache failures: the file may be fixed
		c.mu.Unlock()
		c.release(e)
		return nil, e.err
	}
	return e, nil
}

// release drops a reference taken by acquire.
func (c *moduleCache) release(e *compiled) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs == 0 && e.evicted {
		e.close()
	}
}

// removeLocked takes e out of the cache; it is closed when its last user
// releases it.
func (c *moduleCache) removeLocked(e *compiled) {
	if e.evicted {
		return
	}
	e.evicted = true
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
	c.lru.Remove(e.elem)
	if e.refs == 0 {
		e.close()
	}
}

// closeAll empties the cache. Executions must have finished.
func (c *moduleCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.removeLocked(c.lru.Back().Value.(*compiled))
	}
}

// len is the number of cached modules.
func (c *moduleCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (e *compiled) close() {
	if e.mod != nil {
		_ = e.mod.Close(context.Background())
	}
}
