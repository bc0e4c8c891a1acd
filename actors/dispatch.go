package actors

import (
	"sync"
	"time"
)

// reusingDispatcher runs functions on goroutines it keeps for a while. protoactor's default
// dispatcher starts every mailbox batch on a fresh goroutine whose small stack our handlers
// (JSON, libp2p) then grow: on a busy head that stack growth was about a twentieth of its CPU.
// The node's actors and its outbox both use one. A function never waits for a goroutine: with
// none idle, a new one starts, as before.
type reusingDispatcher struct {
	throughput int
	idle       time.Duration
	work       chan func() // unbuffered: a send succeeds only when a goroutine is idle
	quit       chan struct{}
	stopOnce   sync.Once
}

func newReusingDispatcher(throughput int, idle time.Duration) *reusingDispatcher {
	return &reusingDispatcher{throughput: throughput, idle: idle, work: make(chan func()), quit: make(chan struct{})}
}

// Schedule implements actor.Dispatcher.
func (d *reusingDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		go d.loop(fn)
	}
}

// Throughput implements actor.Dispatcher: how many messages a mailbox handles per batch.
func (d *reusingDispatcher) Throughput() int { return d.throughput }

// stop lets the idle goroutines go now instead of after their idle time; what is scheduled
// afterwards still runs, each on a goroutine of its own.
func (d *reusingDispatcher) stop() { d.stopOnce.Do(func() { close(d.quit) }) }

// loop runs fn, then whatever is scheduled while it waits, and ends after idle with nothing.
func (d *reusingDispatcher) loop(fn func()) {
	fn()
	idle := time.NewTimer(d.idle)
	defer idle.Stop()
	for {
		select {
		case fn := <-d.work:
			fn()
			idle.Reset(d.idle)
		case <-idle.C:
			return
		case <-d.quit:
			return
		}
	}
}
