package actors

import (
	"fmt"

	"github.com/b7s-actor/b7s/executor"
)

// admission is a worker's rule for starting executions: at most slots run at once, and what
// they reserve (each its memory limit and disk quota, executor.Reservation) stays within the
// worker's budget. Each guest is held to its own limits by the executor; the budget keeps
// their sum within what the machine has (eight 256 MiB guests once took a worker to 2.9 GB).
// Pure: the work actor owns the queue and decides what waits.
type admission struct {
	slots    int
	budget   executor.Reservation
	running  int
	reserved executor.Reservation
}

func newAdmission(slots int, budget executor.Reservation) admission {
	return admission{slots: slots, budget: budget}
}

// fits reports whether an execution needing need can start now.
func (a *admission) fits(need executor.Reservation) bool {
	return a.running < a.slots && a.reserved.Plus(need).Fits(a.budget)
}

// possible reports whether an execution needing need could ever start: an empty worker has
// room for it.
func (a *admission) possible(need executor.Reservation) bool { return need.Fits(a.budget) }

// take reserves need for an execution that starts; the caller checked fits.
func (a *admission) take(need executor.Reservation) {
	a.running++
	a.reserved = a.reserved.Plus(need)
}

// release gives back what a finished execution reserved.
func (a *admission) release(need executor.Reservation) {
	a.running--
	a.reserved = a.reserved.Minus(need)
}

// String says what is in use, for refusal messages.
func (a *admission) String() string {
	return fmt.Sprintf("%d of %d running, %d of %d MiB of memory and %d of %d MiB of disk reserved",
		a.running, a.slots, a.reserved.Memory>>20, a.budget.Memory>>20, a.reserved.Disk>>20, a.budget.Disk>>20)
}
