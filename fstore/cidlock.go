package fstore

import (
	"context"
	"sync"
)

// cidLocks keeps two writers of one CID (installs, sync repairs) from swapping its files and
// record under each other. It shares nothing else between them: each writer, once it holds
// the lock, looks at the store again and does its own work.
type cidLocks struct {
	mu sync.Mutex
	m  map[string]*cidLock
}

type cidLock struct {
	// sem holds a token while a writer works; a channel rather than a mutex so that a writer
	// waiting behind a long download can still give up when its context ends.
	sem  chan struct{}
	refs int // writers holding or waiting; the entry is dropped when none are left
}

// lock waits until no other writer holds cid, or ctx ends. The returned func releases it.
func (l *cidLocks) lock(ctx context.Context, cid string) (unlock func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*cidLock)
	}
	e, ok := l.m[cid]
	if !ok {
		e = &cidLock{sem: make(chan struct{}, 1)}
		l.m[cid] = e
	}
	e.refs++
	l.mu.Unlock()

	select {
	case e.sem <- struct{}{}:
		return func() {
			<-e.sem
			l.release(cid, e)
		}, nil
	case <-ctx.Done():
		l.release(cid, e)
		return nil, ctx.Err()
	}
}

func (l *cidLocks) release(cid string, e *cidLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(l.m, cid)
	}
}
