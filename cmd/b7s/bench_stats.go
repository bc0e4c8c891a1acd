package main

import (
	"math"
	"slices"
	"time"
)

// latencySummary is the distribution of the successful requests' latencies.
type latencySummary struct {
	N              int
	Min, Mean, Max time.Duration
	P50, P90, P99  time.Duration
}

// summarize computes the summary; it sorts a copy, so the caller's slice is left as it is.
func summarize(latencies []time.Duration) latencySummary {
	if len(latencies) == 0 {
		return latencySummary{}
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	var total time.Duration
	for _, l := range sorted {
		total += l
	}
	return latencySummary{
		N:    len(sorted),
		Min:  sorted[0],
		Mean: total / time.Duration(len(sorted)),
		Max:  sorted[len(sorted)-1],
		P50:  percentile(sorted, 50),
		P90:  percentile(sorted, 90),
		P99:  percentile(sorted, 99),
	}
}

// percentile is the nearest-rank percentile of sorted (ascending): the smallest value with at
// least p percent of the values at or below it. It is always one of the measured values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// rate is events per second over elapsed.
func rate(n int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}
