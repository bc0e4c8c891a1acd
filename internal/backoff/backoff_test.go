package backoff

import (
	"testing"
	"time"
)

func TestDoubling(t *testing.T) {
	for _, c := range []struct {
		initial, max time.Duration
		n            int
		want         time.Duration
	}{
		{50 * time.Millisecond, 5 * time.Second, 0, 50 * time.Millisecond},
		{50 * time.Millisecond, 5 * time.Second, 1, 50 * time.Millisecond},
		{50 * time.Millisecond, 5 * time.Second, 2, 100 * time.Millisecond},
		{50 * time.Millisecond, 5 * time.Second, 7, 3200 * time.Millisecond},
		{50 * time.Millisecond, 5 * time.Second, 8, 5 * time.Second},
		{50 * time.Millisecond, 5 * time.Second, 1 << 30, 5 * time.Second}, // no overflow, no long loop
		{time.Second, 500 * time.Millisecond, 1, 500 * time.Millisecond},   // max below initial wins
		{0, time.Second, 1 << 30, 0},
	} {
		if got := Doubling(c.initial, c.max, c.n); got != c.want {
			t.Errorf("Doubling(%v, %v, %d) = %v, want %v", c.initial, c.max, c.n, got, c.want)
		}
	}
}
