package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSummary_AppendsLinesThatMakeOneTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.jsonl")
	runs := []benchSummary{
		{Label: "1 worker, sequential", Sent: 1000, OK: 1000, RPS: 900, P50: 980 * time.Microsecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond,
			Processes: []processSummary{{Name: "head", CPUPerReq: 0.31, RSSAvgKB: 40 << 10, RSSMaxKB: 44 << 10}, {Name: "worker1", CPUPerReq: 0.2, RSSAvgKB: 41 << 10, RSSMaxKB: 45 << 10}}},
		{Label: "1 worker, 32 clients", Sent: 60000, OK: 59999, RPS: 3000.4},
	}
	for _, r := range runs {
		if err := appendSummary(path, r); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readSummaries(f)
	if err != nil || len(got) != 2 || got[0].P50 != runs[0].P50 || got[0].Processes[1].RSSMaxKB != 45<<10 || got[1].OK != 59999 {
		t.Fatalf("read back %+v, %v", got, err)
	}
	var out bytes.Buffer
	if err := writeSummaryTable(&out, got); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 worker, sequential", "980µs", "head", "0.310", "40.0 MiB", "44.0 MiB", "worker1", "3000", "59999/60000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRSSSampler_AveragesAndPeaksTheProcessItSamples(t *testing.T) {
	s := startRSSSampler([]benchProcess{{Name: "self", PID: os.Getpid()}}, time.Millisecond)
	avg, peak := s.finish() // at least the first sample is taken before finish returns
	if avg[0] == 0 || peak[0] < avg[0] {
		t.Fatalf("avg %d KB, peak %d KB", avg[0], peak[0])
	}
}
