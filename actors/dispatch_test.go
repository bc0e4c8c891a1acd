package actors

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestReusingDispatcher_RunsEverythingAndLetsIdleGoroutinesGo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newReusingDispatcher(10, time.Second)
		var ran atomic.Int32
		block := make(chan struct{})
		d.Schedule(func() { <-block; ran.Add(1) }) // a busy goroutine does not hold others up
		for range 100 {
			d.Schedule(func() { ran.Add(1) })
			synctest.Wait()
		}
		if got := ran.Load(); got != 100 {
			t.Fatalf("ran %d of the 100 unblocked batches", got)
		}
		close(block)
		synctest.Wait()
		if got := ran.Load(); got != 101 {
			t.Fatalf("ran %d batches, want 101", got)
		}
		// The goroutines end after a second idle; synctest.Test fails if any is left.
		time.Sleep(2 * time.Second)
	})
}

// Stopping lets idle goroutines go at once; what comes after still runs.
func TestReusingDispatcher_StopEndsIdleGoroutinesAndStillRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newReusingDispatcher(1, time.Hour)
		ran := make(chan struct{}, 2)
		d.Schedule(func() { ran <- struct{}{} })
		<-ran
		d.stop()
		d.Schedule(func() { ran <- struct{}{} })
		<-ran
		synctest.Wait() // an hour's idle timer does not hold the bubble: every goroutine ended
	})
}
