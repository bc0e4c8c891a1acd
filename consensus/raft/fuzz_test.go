package raft

import (
	"testing"

	hraft "github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// FuzzFSMApply: whatever a leader commits (an original node's, a faulty one's), the FSM never
// panics and passes on at most one entry, of its own request.
func FuzzFSMApply(f *testing.F) {
	f.Add([]byte(`{"request_id":"r1","origin":"` + peerA + `","execute":{"function_id":"fn","method":"m"}}`))
	f.Add([]byte(`{"request_id":"r1","origin":"not a peer"}`))
	f.Add([]byte(`{"request_id":"r2"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		fsm := &fsm{requestID: "r1", applied: func(e LogEntry) {
			n++
			if e.RequestID != "r1" {
				t.Fatalf("applied an entry of %q", e.RequestID)
			}
		}, log: zerolog.Nop()}
		for range 2 {
			fsm.Apply(&hraft.Log{Type: hraft.LogCommand, Data: data})
		}
		if n > 1 {
			t.Fatalf("applied %d times", n)
		}
	})
}
