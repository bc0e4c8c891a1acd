package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// rssSampleInterval is how often the bench reads the nodes' VmRSS during a run.
const rssSampleInterval = 250 * time.Millisecond

// rssSampler reads every process's VmRSS on an interval for the length of a run, for its
// average and peak; a run's start and end alone miss what happens between.
type rssSampler struct {
	procs []benchProcess
	stop  chan struct{}
	done  chan struct{}
	sum   []uint64 // KB
	max   []uint64
	n     int
}

func startRSSSampler(procs []benchProcess, interval time.Duration) *rssSampler {
	s := &rssSampler{procs: procs, stop: make(chan struct{}), done: make(chan struct{}),
		sum: make([]uint64, len(procs)), max: make([]uint64, len(procs))}
	go func() {
		defer close(s.done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-ticker.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	for i, p := range s.procs {
		ps, err := sampleProc(p.PID)
		if err != nil {
			continue // a process gone mid-run shows in the final sample's error
		}
		s.sum[i] += ps.RSSKB
		s.max[i] = max(s.max[i], ps.RSSKB)
	}
	s.n++
}

// finish stops sampling and returns each process's average and peak VmRSS in KB.
func (s *rssSampler) finish() (avg, peak []uint64) {
	close(s.stop)
	<-s.done
	avg = make([]uint64, len(s.procs))
	for i := range s.procs {
		avg[i] = s.sum[i] / uint64(max(s.n, 1))
	}
	return avg, s.max
}

// benchSummary is one run's numbers as one JSON line of --summary, for a report over runs.
type benchSummary struct {
	Label     string           `json:"label"`
	Mode      string           `json:"mode"`
	Sent      int              `json:"sent"`
	OK        int              `json:"ok"`
	Seconds   float64          `json:"seconds"`
	RPS       float64          `json:"rps"`
	P50       time.Duration    `json:"p50_ns"`
	P90       time.Duration    `json:"p90_ns"`
	P99       time.Duration    `json:"p99_ns"`
	Processes []processSummary `json:"processes,omitempty"`
}

type processSummary struct {
	Name      string  `json:"name"`
	CPUPerReq float64 `json:"cpu_ms_per_request"`
	RSSAvgKB  uint64  `json:"rss_avg_kb"`
	RSSMaxKB  uint64  `json:"rss_max_kb"`
}

var summaryFileMu sync.Mutex

// appendSummary adds s as one line to the file at path.
func appendSummary(path string, s benchSummary) error {
	line, err := json.Marshal(s)
	if err != nil {
		return err
	}
	summaryFileMu.Lock()
	defer summaryFileMu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("summary: %w", err)
	}
	return f.Close()
}

// readSummaries reads the JSON lines written by appendSummary.
func readSummaries(r io.Reader) ([]benchSummary, error) {
	var out []benchSummary
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var s benchSummary
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// writeSummaryTable prints runs as one table: a row per run, and per process its CPU per
// request and its RSS average and peak.
func writeSummaryTable(w io.Writer, runs []benchSummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\treq/s\tok/sent\tp50\tp90\tp99\tprocess\tcpu ms/req\trss avg\trss max")
	for _, r := range runs {
		head := fmt.Sprintf("%s\t%.0f\t%d/%d\t%v\t%v\t%v", r.Label, r.RPS, r.OK, r.Sent,
			roundLatency(r.P50), roundLatency(r.P90), roundLatency(r.P99))
		if len(r.Processes) == 0 {
			fmt.Fprintf(tw, "%s\t\t\t\t\n", head)
			continue
		}
		for i, p := range r.Processes {
			if i > 0 {
				head = "\t\t\t\t\t"
			}
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\t%s\n", head, p.Name, p.CPUPerReq, formatKB(p.RSSAvgKB), formatKB(p.RSSMaxKB))
		}
	}
	return tw.Flush()
}
