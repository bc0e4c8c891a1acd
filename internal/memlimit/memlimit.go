// Package memlimit keeps the Go runtime's soft memory limit at a node's memory target plus the
// guest memory its running functions hold on the Go heap. With the runtime's default (no limit,
// GOGC 100) a busy node's heap settles at twice what it keeps alive; the limit makes the
// collector run before that, so the node holds about its target under load, while a function
// that needs more is never starved (what it holds is added, and large guest memories live
// outside the heap altogether). A GOMEMLIMIT set in the environment is the operator's choice
// and is left alone.
package memlimit

import (
	"math"
	"os"
	"runtime/debug"
	"time"
)

// DefaultTargetMiB is the memory target of a node (the Go heap, stacks and runtime), in MiB.
// A node's binary and libraries add about 20 MiB of resident memory on top.
const DefaultTargetMiB = 32

// interval is how often the guests' share is read. A share that grows in between only makes
// the collector run a little early meanwhile.
const interval = 100 * time.Millisecond

// step rounds the limit, so that it is not set again for every kilobyte.
const step = 1 << 20

// Governor holds the limit until Stop.
type Governor struct {
	target int64
	held   func() int64
	set    func(int64) int64 // debug.SetMemoryLimit, or a stand-in in tests
	quit   chan struct{}
	done   chan struct{}
}

// Start sets the limit to target bytes plus held() and follows held until Stop. held may be
// nil. It returns nil, and changes nothing, when target is not positive or GOMEMLIMIT is set.
func Start(target int64, held func() int64) *Governor {
	if target <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	return start(target, held, debug.SetMemoryLimit)
}

func start(target int64, held func() int64, set func(int64) int64) *Governor {
	g := &Governor{target: target, held: held, set: set, quit: make(chan struct{}), done: make(chan struct{})}
	last := g.apply(-1)
	go func() {
		defer close(g.done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-g.quit:
				return
			case <-ticker.C:
				last = g.apply(last)
			}
		}
	}()
	return g
}

// Limit is the limit for what the guests hold now.
func (g *Governor) Limit() int64 {
	var h int64
	if g.held != nil {
		h = max(g.held(), 0)
	}
	return g.target + (h+step-1)/step*step
}

func (g *Governor) apply(last int64) int64 {
	if l := g.Limit(); l != last {
		g.set(l)
		return l
	}
	return last
}

// Stop ends the following and lifts the limit.
func (g *Governor) Stop() {
	if g == nil {
		return
	}
	close(g.quit)
	<-g.done
	g.set(math.MaxInt64)
}
