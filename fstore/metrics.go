package fstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the spec §11 fstore metrics.
type metrics struct {
	installed prometheus.Counter // install attempts, plus the records found by the first sync
	ok        prometheus.Counter
	failed    prometheus.Counter
	sizeBytes prometheus.Counter // archive bytes of successful installs
	duration  prometheus.Summary // successful installs, in milliseconds
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		installed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_fstore_functions_installed",
			Help: "Function install attempts, plus the records checked by the first sync.",
		}),
		ok: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_fstore_functions_installed_ok",
			Help: "Successful function installs.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_fstore_functions_installed_err",
			Help: "Failed function installs.",
		}),
		sizeBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_fstore_functions_installed_size_bytes",
			Help: "Archive bytes of successfully installed functions.",
		}),
		duration: prometheus.NewSummary(prometheus.SummaryOpts{
			Name:       "b7s_fstore_functions_installation_milliseconds",
			Help:       "Duration of successful function installs in milliseconds.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
			MaxAge:     10 * time.Second,
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.installed, err = register(reg, m.installed); err != nil {
		return nil, err
	}
	if m.ok, err = register(reg, m.ok); err != nil {
		return nil, err
	}
	if m.failed, err = register(reg, m.failed); err != nil {
		return nil, err
	}
	if m.sizeBytes, err = register(reg, m.sizeBytes); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register adopts an identical collector that is already registered (a Store reopened on the
// same registry) instead of failing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register fstore metrics: %w", err)
}

func (m *metrics) attempt() { m.installed.Inc() }

func (m *metrics) done(start time.Time, size int64, err error) {
	if err != nil {
		m.failed.Inc()
		return
	}
	m.ok.Inc()
	m.sizeBytes.Add(float64(size))
	m.duration.Observe(float64(time.Since(start)) / float64(time.Millisecond))
}
