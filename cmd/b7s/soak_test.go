package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/messages"
)

// The soak's verdict: each broken promise is named, and a clean run has none.
func TestSoakReport_NamesEachBrokenPromise(t *testing.T) {
	ok := func(id string) soakAnswer {
		return soakAnswer{status: "200 OK", code: "200", id: id, took: 10 * time.Millisecond, deadline: 10 * time.Second}
	}
	idle := map[string]soakSample{"head": {Goroutines: 90, FDs: 16}}
	tests := []struct {
		name    string
		answers []soakAnswer
		after   soakSample
		want    []string
	}{
		{"clean", []soakAnswer{ok("a"), ok("b"), {status: "500"}, {}}, soakSample{Goroutines: 95, FDs: 17}, nil},
		{"refused then answered is fine", []soakAnswer{{status: "200 OK", code: "200", id: "a", refused: 3}}, soakSample{Goroutines: 90, FDs: 16}, nil},
		{"unanswered", []soakAnswer{ok("a"), {status: "no answer: EOF", lost: true}}, soakSample{Goroutines: 90, FDs: 16}, []string{"1 accepted requests got no answer"}},
		{"duplicate", []soakAnswer{ok("a"), ok("a")}, soakSample{Goroutines: 90, FDs: 16}, []string{"1 answers repeated a request ID"}},
		{"overrun", []soakAnswer{{status: "200 OK", code: "408", id: "a", took: 13 * time.Second, deadline: 10 * time.Second}}, soakSample{Goroutines: 90, FDs: 16}, []string{"past its deadline"}},
		{"goroutines kept", []soakAnswer{ok("a")}, soakSample{Goroutines: 141, FDs: 16}, []string{"kept 141 goroutines"}},
		{"files kept", []soakAnswer{ok("a")}, soakSample{Goroutines: 90, FDs: 67}, []string{"kept 67 open files"}},
		{"worker back in service", []soakAnswer{ok("a")}, soakSample{Goroutines: 90, FDs: 16, Executions: 3}, nil},
		{"worker never back", []soakAnswer{ok("a")}, soakSample{Goroutines: 90, FDs: 16}, []string{"did not come back into service"}},
		{"another request's result", []soakAnswer{ok("a"), {status: "200 OK", code: "200", id: "b", wrongOutput: "request b: a result printed \"stdin: soak-7\""}},
			soakSample{Goroutines: 90, FDs: 16}, []string{"1 answers carried a result that is not their request's, the first: request b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role := actors.RoleHead
			if strings.HasPrefix(tt.name, "worker") {
				role = actors.RoleWorker
			}
			s := &soak{cfg: defaultSoakConfig(), out: io.Discard, nodes: []devnetNode{{Name: "head", Role: role}}}
			got := s.report(tt.answers, time.Second, idle, newSoakPeak(), map[string]soakSample{"head": tt.after})
			if len(got) != len(tt.want) {
				t.Fatalf("failures %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("failure %q lacks %q", got[i], w)
				}
			}
		})
	}
}

func TestWrongEcho(t *testing.T) {
	result := func(exit int, stdout string) messages.AggregatedResult {
		return messages.AggregatedResult{Result: messages.RuntimeOutput{ExitCode: exit, Stdout: stdout}}
	}
	for _, c := range []struct {
		name    string
		results []messages.AggregatedResult
		wrong   bool
	}{
		{"its own stdin", []messages.AggregatedResult{result(0, "Hello from b7s-actor! stdin: soak-3\n")}, false},
		{"another request's stdin", []messages.AggregatedResult{result(0, "Hello from b7s-actor! stdin: soak-31\n")}, true},
		{"nothing printed", []messages.AggregatedResult{result(0, "")}, true},
		{"a failed run is not checked", []messages.AggregatedResult{result(1, ""), result(0, "x stdin: soak-3")}, false},
		{"no results", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := wrongEcho(messages.ExecutionResponse{RequestID: "r", Results: c.results}, "soak-3")
			if (got != "") != c.wrong {
				t.Errorf("wrongEcho = %q, want wrong %v", got, c.wrong)
			}
		})
	}
}
