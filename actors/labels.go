package actors

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Metric label values that stand for many: a label whose value comes from client input (a
// function ID, a topic) must not add a time series for every value a client makes up.
const (
	labelNotInstalled = "not_installed" // a function this worker does not have
	labelOther        = "other"         // past a label's bound
)

// maxFunctionLabels bounds the function IDs a head labels its metrics with; later ones share
// labelOther. A worker labels only the functions it has installed.
const maxFunctionLabels = 256

// maxTopicLabels bounds the topics a node labels its published messages with (a request may
// name any topic for its roll call).
const maxTopicLabels = 64

// labelSet admits up to max distinct values of a label; later values share labelOther. It is
// safe for concurrent use.
type labelSet struct {
	mu     sync.Mutex
	values map[string]struct{}
	max    int
}

func newLabelSet(max int, admitted ...string) *labelSet {
	s := &labelSet{values: make(map[string]struct{}, len(admitted)), max: max + len(admitted)}
	for _, v := range admitted {
		s.values[v] = struct{}{}
	}
	return s
}

// value is v if v has a series of its own, else labelOther.
func (s *labelSet) value(v string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.values[v]; ok {
		return v
	}
	if len(s.values) < s.max {
		s.values[v] = struct{}{}
		return v
	}
	return labelOther
}

// sampledBurst is the sampler of log lines that client input can repeat without end (install
// failures of made-up IDs, malformed messages, failed sends): the first ten a second, no more.
func sampledBurst() zerolog.Sampler {
	return &zerolog.BurstSampler{Burst: 10, Period: time.Second}
}
