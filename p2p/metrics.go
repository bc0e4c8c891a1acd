package p2p

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the host counters of spec §11. A nil *metrics records nothing.
type metrics struct {
	sent           *prometheus.CounterVec
	sentBytes      *prometheus.CounterVec
	published      *prometheus.CounterVec
	publishedBytes *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{}
	vecs := []struct {
		dst   **prometheus.CounterVec
		name  string
		help  string
		label string
	}{
		{&m.sent, "b7s_host_messages_sent", "Direct messages sent.", "protocol"},
		{&m.sentBytes, "b7s_host_messages_sent_bytes", "Bytes of direct messages sent.", "protocol"},
		{&m.published, "b7s_host_messages_published", "Messages published on pubsub.", "topic"},
		{&m.publishedBytes, "b7s_host_messages_published_bytes", "Bytes published on pubsub.", "topic"},
	}
	for _, v := range vecs {
		vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: v.name, Help: v.help}, []string{v.label})
		if err := reg.Register(vec); err != nil {
			// Several hosts may share one registry (tests, devnet): reuse the
			// collector registered first.
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("register metric %s: %w", v.name, err)
			}
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, fmt.Errorf("register metric %s: existing collector is %T", v.name, are.ExistingCollector)
			}
			vec = existing
		}
		*v.dst = vec
	}
	return m, nil
}

func (m *metrics) messageSent(protocol string, size int) {
	if m == nil {
		return
	}
	m.sent.WithLabelValues(protocol).Inc()
	m.sentBytes.WithLabelValues(protocol).Add(float64(size))
}

func (m *metrics) messagePublished(topic string, size int) {
	if m == nil {
		return
	}
	m.published.WithLabelValues(topic).Inc()
	m.publishedBytes.WithLabelValues(topic).Add(float64(size))
}
