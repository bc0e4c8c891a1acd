package daemontest

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/b7s-actor/b7s/actors/actortest"
)

// Metric returns the value of the counter or gauge name whose labels include labels, summed
// over every series that matches, from the node's own registry: what /metrics would show.
func (n *Node) Metric(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := n.Metrics.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func matches(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}

// WaitMetric waits until the metric reaches at least want, failing the test after 10 s.
func (n *Node) WaitMetric(t testing.TB, name string, labels map[string]string, want float64) {
	t.Helper()
	if !actortest.Eventually(10*time.Second, func() bool { return n.Metric(t, name, labels) >= want }) {
		t.Fatalf("%s%v = %v, want ≥ %v", name, labels, n.Metric(t, name, labels), want)
	}
}
