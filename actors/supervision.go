package actors

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/b7s-actor/b7s/internal/backoff"
	"github.com/b7s-actor/b7s/internal/check"
)

// BackoffConfig shapes how a supervisor restarts a failing child.
type BackoffConfig struct {
	// MaxRestarts within Window before the child is stopped for good (0: no limit).
	MaxRestarts int
	Window      time.Duration
	// The first restart is immediate; the next waits Initial, and each further one within
	// Window doubles it, up to Max.
	Initial, Max time.Duration
}

// DefaultBackoff restarts at once the first time, then 50 ms, 100 ms, … up to 5 s; a child
// that fails 10 times within a minute is stopped.
func DefaultBackoff() BackoffConfig {
	return BackoffConfig{MaxRestarts: 10, Window: time.Minute, Initial: 50 * time.Millisecond, Max: 5 * time.Second}
}

func (c BackoffConfig) validate() error {
	return errors.Join(
		check.Min("Backoff.MaxRestarts", c.MaxRestarts, 0),
		check.Min("Backoff.Window", c.Window, time.Millisecond),
		check.Min("Backoff.Initial", c.Initial, 0),
		check.Min("Backoff.Max", c.Max, c.Initial),
	)
}

// oneForOneBackoff restarts only the failed child, after an exponential delay. protoactor has
// OneForOne (no delay) and ExponentialBackoff (no limit); a node needs both.
type oneForOneBackoff struct{ cfg BackoffConfig }

func newOneForOneBackoff(cfg BackoffConfig) actor.SupervisorStrategy {
	return &oneForOneBackoff{cfg: cfg}
}

func (s *oneForOneBackoff) HandleFailure(_ *actor.ActorSystem, supervisor actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, _ interface{}, _ interface{}) {
	if rs.NumberOfFailures(s.cfg.Window) == 0 {
		rs.Reset()
	}
	rs.Fail()
	n := rs.NumberOfFailures(s.cfg.Window)
	if s.cfg.MaxRestarts > 0 && n > s.cfg.MaxRestarts {
		supervisor.StopChildren(child)
		return
	}
	if n <= 1 || s.cfg.Initial <= 0 {
		supervisor.RestartChildren(child)
		return
	}
	// The child's mailbox stays suspended meanwhile, so nothing sent to it is lost.
	time.AfterFunc(backoff.Doubling(s.cfg.Initial, s.cfg.Max, n-1), func() { supervisor.RestartChildren(child) })
}

// newStopOnFailure stops a failed child instead of restarting it: for actors that serve one
// request, where a restart would run the request a second time.
func newStopOnFailure() actor.SupervisorStrategy {
	return actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })
}
