package main

import (
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/api"
)

func step(actor, dir, typ, peerID string, ms int) inspect.Step {
	return inspect.Step{Actor: actor, Kind: "k", Record: inspect.Record{
		At: time.Date(2026, 1, 1, 0, 0, 0, ms*int(time.Millisecond), time.UTC), Dir: dir, Type: typ, Peer: peerID}}
}

func TestWriteTrace_MergesNodesInTimeOrderAndNamesTheSilentOnes(t *testing.T) {
	tr := api.RequestTrace{Request: "r1", Nodes: []api.NodeTrace{
		{Node: peerA, Role: "head", Steps: []inspect.Step{
			step("node/requests/r1", "out", "MsgExecute", peerB, 1),
			step("node/requests/r1", "in", "MsgExecuteResponse", peerB, 5),
		}},
		{Node: peerB, Role: "worker", Steps: []inspect.Step{step("node/work/r1", "life", "started", "", 3)}},
		{Node: peerC, Steps: []inspect.Step{}, Error: "the peer does not speak /b7s-actor/trace/1.0.0"},
	}}
	var b strings.Builder
	if n := writeTrace(&b, tr); n != 3 {
		t.Fatalf("%d steps, want 3", n)
	}
	out := b.String()
	order := []string{"MsgExecute ", "started", "MsgExecuteResponse"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i < last {
			t.Fatalf("%q out of order:\n%s", s, out)
		}
		last = i
	}
	for _, want := range []string{"head " + peerA + ": 2 steps", peerC + ": the peer does not speak", "→ …" + peerB[len(peerB)-8:], "    4.000  head"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
