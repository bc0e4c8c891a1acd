package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// BackoffConfig shapes how a supervisor restarts a failing child.
type BackoffConfig struct {
	// MaxRestarts within Window before the child is stopped for good.
	MaxRestarts int
	Window      time.Duration
	// The first restart waits Initial; each further one within Window doubles it, up to Max.
	Initial, Max time.Duration
}

// DefaultBackoff restarts at once the first time, then 50 ms, 100 ms, … up to 5 s; a child
// that fails 10 times within a minute is stopped.
func DefaultBackoff() BackoffConfig {
	return BackoffConfig{MaxRestarts: 10, Window: time.Minute, Initial: 50 * time.Millisecond, Max: 5 * time.Second}
}

// oneForOneBackoff restarts only the failed child, after an exponential delay. protoactor has
// OneForOne (no delay) and ExponentialBackoff (no limit); a node needs both.
type oneForOneBackoff struct{ cfg BackoffConfig }

// NewOneForOneBackoff returns the supervisor strategy the node uses for its children.
func NewOneForOneBackoff(cfg BackoffConfig) actor.SupervisorStrategy {
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
	delay := backoffDelay(s.cfg, n)
	if delay <= 0 {
		supervisor.RestartChildren(child)
		return
	}
	// The child's mailbox stays suspended meanwhile, so nothing sent to it is lost.
	time.AfterFunc(delay, func() { supervisor.RestartChildren(child) })
}

// backoffDelay is the wait before the n-th restart within the window (n starts at 1).
func backoffDelay(cfg BackoffConfig, n int) time.Duration {
	if n <= 1 || cfg.Initial <= 0 {
		return 0
	}
	d := cfg.Initial
	for i := 2; i < n && d < cfg.Max; i++ {
		d *= 2
	}
	if cfg.Max > 0 && d > cfg.Max {
		d = cfg.Max
	}
	return d
}

// NewStopOnFailure stops a failed child instead of restarting it: for actors that serve one
// request, where a restart would run the request a second time.
func NewStopOnFailure() actor.SupervisorStrategy {
	return actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })
}
