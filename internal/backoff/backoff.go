// Package backoff holds the one retry schedule of the node: a wait that starts small and
// doubles up to a bound. Supervisors' restarts, the installer's retries and the host's re-dials
// of missing boot nodes all wait by it.
package backoff

import "time"

// Doubling is the wait before the n-th retry (n ≥ 1): initial, then twice as long each time,
// never more than max. n below 1 is the first retry.
func Doubling(initial, max time.Duration, n int) time.Duration {
	d := initial
	for i := 1; i < n && d > 0 && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
