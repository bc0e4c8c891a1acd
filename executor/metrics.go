package executor

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/b7s-actor/b7s/messages"
)

// metrics are the executor metrics of the original b7s node, under its names.
type metrics struct {
	executions    *prometheus.CounterVec
	executionsOK  *prometheus.CounterVec
	executionsErr *prometheus.CounterVec
	cpuUser       prometheus.Counter
	cpuSys        prometheus.Counter
	duration      *prometheus.SummaryVec
	// Not in the original, which counts no fuel.
	fuelExhausted *prometheus.CounterVec
	fuelConsumed  *prometheus.CounterVec
	fsQuota       prometheus.Counter
}

// newMetrics registers the metrics; a nil Registerer gives nil (no metrics).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	fn := []string{"function"}
	m := &metrics{
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "b7s_executor_function_executions",
			Help: "Function executions started.",
		}, fn),
		executionsOK: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "b7s_executor_function_executions_ok",
			Help: "Function executions that exited 0.",
		}, fn),
		executionsErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "b7s_executor_function_executions_err",
			Help: "Function executions that failed (non-zero exit, trap, timeout, load failure).",
		}, fn),
		cpuUser: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_executor_function_executions_cpu_user_time_milliseconds",
			Help: "User CPU time spent in function executions.",
		}),
		cpuSys: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_executor_function_executions_cpu_sys_time_milliseconds",
			Help: "System CPU time spent in function executions.",
		}),
		duration: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name:       "b7s_executor_function_executions_milliseconds",
			Help:       "Wall-clock duration of function executions.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
			MaxAge:     10 * time.Second,
		}, fn),
		fuelExhausted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "b7s_executor_function_executions_fuel_exhausted",
			Help: "Function executions stopped because their limited_fuel ran out (exit code 1).",
		}, fn),
		fuelConsumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "b7s_executor_function_fuel_consumed",
			Help: "Fuel charged to executions that set limited_fuel, in wasmtime's unit (about one per operator).",
		}, fn),
		fsQuota: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_executor_fs_quota_exceeded",
			Help: "Function executions that reached their disk quota (--max-fs-bytes): a write, create or extension was refused or cut short.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.executions, m.executionsOK, m.executionsErr, m.cpuUser, m.cpuSys, m.duration,
		m.fuelExhausted, m.fuelConsumed, m.fsQuota,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register executor metrics: %w", err)
		}
	}
	return m, nil
}

// observe records one finished execution; exhausted: it ran out of fuel.
func (m *metrics) observe(function string, res Result, exhausted bool) {
	if m == nil {
		return
	}
	m.executions.WithLabelValues(function).Inc()
	if res.Code == messages.CodeOK {
		m.executionsOK.WithLabelValues(function).Inc()
	} else {
		m.executionsErr.WithLabelValues(function).Inc()
	}
	m.cpuUser.Add(ms(res.Usage.CPUUser))
	m.cpuSys.Add(ms(res.Usage.CPUSys))
	m.duration.WithLabelValues(function).Observe(ms(res.Usage.WallClock))
	if res.Usage.FuelConsumed > 0 {
		m.fuelConsumed.WithLabelValues(function).Add(float64(res.Usage.FuelConsumed))
	}
	if exhausted {
		m.fuelExhausted.WithLabelValues(function).Inc()
	}
}

// fsQuotaExceeded counts an execution that reached its disk quota.
func (m *metrics) fsQuotaExceeded() {
	if m != nil {
		m.fsQuota.Inc()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
