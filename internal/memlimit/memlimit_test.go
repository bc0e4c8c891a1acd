package memlimit

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestGovernor_FollowsWhatGuestsHoldAndLiftsTheLimitWhenStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var held atomic.Int64
		var mu sync.Mutex
		var limits []int64
		set := func(l int64) int64 {
			mu.Lock()
			defer mu.Unlock()
			limits = append(limits, l)
			return 0
		}
		last := func() int64 {
			mu.Lock()
			defer mu.Unlock()
			return limits[len(limits)-1]
		}
		g := start(32<<20, held.Load, set)
		if got := last(); got != 32<<20 {
			t.Fatalf("limit %d, want the target", got)
		}
		held.Store(3<<20 + 1) // rounded up to whole MiB
		time.Sleep(2 * interval)
		if got := last(); got != 36<<20 {
			t.Fatalf("limit %d, want target + 4 MiB", got)
		}
		n := len(limits)
		time.Sleep(5 * interval) // unchanged: not set again
		if len(limits) != n {
			t.Fatalf("limit set %d more times without a change", len(limits)-n)
		}
		g.Stop()
		if got := last(); got != math.MaxInt64 {
			t.Fatalf("limit %d after stop, want none", got)
		}
	})
}

func TestStart_LeavesAnOperatorsGOMEMLIMITAlone(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB")
	if g := Start(32<<20, nil); g != nil {
		g.Stop()
		t.Fatal("started although GOMEMLIMIT is set")
	}
	if g := Start(0, nil); g != nil {
		t.Fatal("started with no target")
	}
}
