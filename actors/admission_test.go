package actors

import (
	"testing"

	"github.com/b7s-actor/b7s/executor"
)

func TestAdmission_SlotsAndBudget(t *testing.T) {
	const mib = 1 << 20
	need := func(mem, disk int64) executor.Reservation {
		return executor.Reservation{Memory: mem * mib, Disk: disk * mib}
	}
	budget := need(512, 128)
	tests := []struct {
		name     string
		running  []executor.Reservation // started before, in order
		next     executor.Reservation
		fits     bool
		possible bool
	}{
		{"empty worker", nil, need(256, 64), true, true},
		{"memory left", []executor.Reservation{need(256, 64)}, need(256, 64), true, true},
		{"memory full", []executor.Reservation{need(256, 0), need(256, 0)}, need(1, 0), false, true},
		{"disk full", []executor.Reservation{need(0, 128)}, need(1, 1), false, true},
		{"slots full within budget", []executor.Reservation{need(1, 1), need(1, 1), need(1, 1)}, need(1, 1), false, true},
		{"exactly the budget", nil, budget, true, true},
		{"more memory than the budget", nil, need(513, 0), false, false},
		{"more disk than the budget", nil, need(0, 129), false, false},
		{"nothing needed", []executor.Reservation{need(512, 128)}, need(0, 0), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdmission(3, budget)
			for _, r := range tt.running {
				if !a.fits(r) {
					t.Fatalf("setup: %+v does not fit", r)
				}
				a.take(r)
			}
			if got := a.fits(tt.next); got != tt.fits {
				t.Errorf("fits(%+v) = %v, want %v (%s)", tt.next, got, tt.fits, a.String())
			}
			if got := a.possible(tt.next); got != tt.possible {
				t.Errorf("possible(%+v) = %v, want %v", tt.next, got, tt.possible)
			}
			// Releasing everything gives the empty worker back.
			for _, r := range tt.running {
				a.release(r)
			}
			if a.running != 0 || a.reserved != (executor.Reservation{}) {
				t.Fatalf("after releases: %s", a.String())
			}
		})
	}
}
