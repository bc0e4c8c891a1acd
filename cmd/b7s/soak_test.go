package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
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
