package actors

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/consensus/pbft"
	craft "github.com/b7s-actor/b7s/consensus/raft"
	"github.com/b7s-actor/b7s/internal/p2ptest"
	"github.com/b7s-actor/b7s/messages"
)

// clustersFixture is a worker's clusters actor on a real libp2p host (Raft needs one), with a
// probe for the work actor and the fake host's outbox for what it answers.
type clustersFixture struct {
	sys      *actortest.System
	clusters *actor.PID
	host     *fakeHost
	work     *actortest.Probe
	metrics  *nodeMetrics
	self     peer.ID
	lh       host.Host
	faults   *actortest.Faults
}

// newClustersFixture starts the actor; configure (nil: none) edits its configuration, whose
// Key is nil (no PBFT) unless it sets one.
func newClustersFixture(t *testing.T, configure func(*clustersConfig)) clustersFixture {
	lh := p2ptest.Host(t)
	mux := craft.NewMux(lh)
	t.Cleanup(mux.Close)
	sys := actortest.NewSystem(t)
	host := newFakeHost(lh.ID())
	work := sys.NewProbe(t, "work")
	metrics := newMetrics(nil)
	cfg := clustersConfig{
		ClusterConfig: DefaultClusterConfig(), Self: lh.ID(), Mux: mux, Work: work.PID, ExecutionTimeout: 20 * time.Second,
		Outbox: testOutbox(t, host, sys), Tree: newTree(sys.Registry, nil, nil), Metrics: metrics, Log: sys.Log,
	}
	if configure != nil {
		configure(&cfg)
	}
	faults := actortest.NewFaults()
	pid := sys.Spawn(t, "clusters", "clusters", newClusters(cfg), actor.WithSupervisor(newStopOnFailure()),
		actor.WithReceiverMiddleware(faults.Middleware))
	return clustersFixture{sys: sys, clusters: pid, host: host, work: work, metrics: metrics, self: lh.ID(), lh: lh, faults: faults}
}

func (f clustersFixture) form(m messages.MsgFormCluster) {
	f.formFrom(head, m)
}

func (f clustersFixture) formFrom(from peer.ID, m messages.MsgFormCluster) {
	f.sys.Send(f.clusters, &delivery{Pipeline: pipeline{Direct: true}, From: from, Author: from, Message: m})
}

// answer is the next MsgFormClusterResponse sent, and to whom.
func (f clustersFixture) answer(t *testing.T) (peer.ID, messages.MsgFormClusterResponse) {
	t.Helper()
	select {
	case m := <-f.host.sent:
		msg, err := messages.Decode(m.data, 0)
		if err != nil {
			t.Fatal(err)
		}
		resp, ok := msg.(messages.MsgFormClusterResponse)
		if !ok {
			t.Fatalf("sent %T, want a form-cluster response", msg)
		}
		return m.to, resp
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
	}
	return "", messages.MsgFormClusterResponse{}
}

func (f clustersFixture) alive() float64 {
	return testutil.ToFloat64(f.metrics.clustersAlive.WithLabelValues("raft"))
}

// Every MsgFormCluster a worker cannot serve gets a code and a reason, and leaves nothing.
func TestClusters_RefusesWhatItCannotServe(t *testing.T) {
	f := newClustersFixture(t, nil)
	stranger := peer.ID("someone-else")
	cases := []struct {
		name string
		msg  messages.MsgFormCluster
		code messages.Code
		want string
	}{
		{"unknown consensus", messages.MsgFormCluster{RequestID: "r1", Consensus: 7, Peers: []peer.ID{f.self}}, messages.CodeInvalid, "consensus 7"},
		{"no consensus", messages.MsgFormCluster{RequestID: "r1", Peers: []peer.ID{f.self}}, messages.CodeInvalid, "consensus 0"},
		{"pbft", messages.MsgFormCluster{RequestID: "r1", Consensus: messages.ConsensusPBFT, Peers: []peer.ID{f.self}}, messages.CodeNotImplemented, "pbft"},
		{"no peers", messages.MsgFormCluster{RequestID: "r1", Consensus: messages.ConsensusRaft}, messages.CodeInvalid, "no peers"},
		{"not among the peers", messages.MsgFormCluster{RequestID: "r1", Consensus: messages.ConsensusRaft, Peers: []peer.ID{stranger}}, messages.CodeInvalid, "not among the peers"},
		{"a peer twice", messages.MsgFormCluster{RequestID: "r1", Consensus: messages.ConsensusRaft, Peers: []peer.ID{f.self, f.self}}, messages.CodeInvalid, "twice"},
		{"request ID with a slash", messages.MsgFormCluster{RequestID: "a/b", Consensus: messages.ConsensusRaft, Peers: []peer.ID{f.self}}, messages.CodeInvalid, "protocol ID"},
		{"request ID too long", messages.MsgFormCluster{RequestID: strings.Repeat("x", 200), Consensus: messages.ConsensusRaft, Peers: []peer.ID{f.self}}, messages.CodeInvalid, "over 128"},
	}
	for _, c := range cases {
		f.form(c.msg)
		to, resp := f.answer(t)
		if to != head || resp.Code != c.code || resp.RequestID != c.msg.RequestID || !strings.Contains(resp.Message, c.want) {
			t.Errorf("%s: answered %s %q to %s, want %s containing %q", c.name, resp.Code, resp.Message, to, c.code, c.want)
		}
	}
	if n := testutil.ToFloat64(f.metrics.clustersFailed.WithLabelValues("raft", "refused")); n != 5 {
		t.Errorf("raft refusals counted %v, want 5", n)
	}
	if f.alive() != 0 {
		t.Errorf("%v clusters alive", f.alive())
	}
}

// A cluster of this worker alone: it forms at once (a single voter elects itself), answers
// "200", takes its head's MsgExecute and hands the committed request to the work actor; a
// second MsgFormCluster for the request, a stranger's MsgExecute or disband change nothing;
// the head's disband removes it.
func TestClusters_SingleReplicaFormsRunsAndDisbands(t *testing.T) {
	f := newClustersFixture(t, nil)
	form := messages.MsgFormCluster{RequestID: "req-1", Consensus: messages.ConsensusRaft, Peers: []peer.ID{f.self}}
	f.form(form)
	if to, resp := f.answer(t); to != head || resp.Code != messages.CodeOK || resp.Consensus != messages.ConsensusRaft {
		t.Fatalf("formation answered %+v to %s", resp, to)
	}
	// The inspector shows the phase, the Raft state and term, the leader and the peers.
	want := "formed · leader term 2 · leader " + shortPeer(f.self) + " · peers " + shortPeer(f.self)
	f.sys.WaitActor(t, "clusters/req-1", func(a inspect.ActorInfo) bool { return a.Behaviour == want }, 20*time.Second)

	f.form(form) // twice
	if _, resp := f.answer(t); resp.Code != messages.CodeInvalid || !strings.Contains(resp.Message, "exists") {
		t.Errorf("second formation answered %+v", resp)
	}

	exec := messages.MsgExecute{Request: messages.Request{FunctionID: "fn", Method: "m.wasm",
		Config: messages.Config{ConsensusAlgorithm: "raft"}}, RequestID: "req-1"}
	f.sys.Send(f.clusters, &clusterExecute{From: "someone-else", Msg: exec}) // not its head: dropped
	f.sys.Send(f.clusters, &clusterExecute{From: head, Msg: exec})
	run := actortest.Expect[*runCommitted](t, f.work, 20*time.Second)
	if run.Origin != head || run.Msg.RequestID != "req-1" || run.Msg.FunctionID != "fn" {
		t.Errorf("committed %+v", run)
	}
	f.sys.Send(f.clusters, &clusterExecute{From: head, Msg: exec}) // again: committed once
	f.work.ExpectNone(t, 200*time.Millisecond)

	f.sys.Send(f.clusters, &delivery{From: "someone-else", Message: messages.MsgDisbandCluster{RequestID: "req-1"}})
	f.sys.Send(f.clusters, &delivery{From: head, Message: messages.MsgDisbandCluster{RequestID: "unknown"}})
	f.sys.Send(f.clusters, &delivery{From: head, Message: messages.MsgDisbandCluster{RequestID: "req-1"}})
	if !actortest.Eventually(20*time.Second, func() bool { return f.alive() == 0 }) {
		t.Fatal("the cluster was not removed")
	}
	if n := testutil.ToFloat64(f.metrics.clustersDisbanded.WithLabelValues("raft")); n != 1 {
		t.Errorf("disbanded %v, want 1", n)
	}
}

// MsgExecute with consensus for a request that has no cluster: "500" (spec §4.5).
func TestClusters_ExecuteWithoutClusterIs500(t *testing.T) {
	f := newClustersFixture(t, nil)
	f.sys.Send(f.clusters, &clusterExecute{From: head, Msg: messages.MsgExecute{RequestID: "none",
		Request: messages.Request{FunctionID: "fn", Config: messages.Config{ConsensusAlgorithm: "raft"}}}})
	var m sentMessage
	select {
	case m = <-f.host.sent:
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
	}
	msg, _ := messages.Decode(m.data, 0)
	resp, ok := msg.(messages.MsgExecuteResponse)
	if !ok || m.to != head || resp.Code != messages.CodeError || resp.Results[f.self].Code != messages.CodeError ||
		!strings.Contains(resp.Message, "no cluster") {
		t.Fatalf("answered %+v to %s", msg, m.to)
	}
}

// Peers that cannot be reached: no leader within the formation timeout, "500" with the reason,
// and the replica is gone.
func TestClusters_NoLeaderInTimeIs500(t *testing.T) {
	f := newClustersFixture(t, func(c *clustersConfig) { c.FormTimeout = 300 * time.Millisecond })
	gone1, gone2 := mustPeerID(t), mustPeerID(t)
	f.form(messages.MsgFormCluster{RequestID: "lonely", Consensus: messages.ConsensusRaft, Peers: []peer.ID{gone1, f.self, gone2}})
	if _, resp := f.answer(t); resp.Code != messages.CodeError || !strings.Contains(resp.Message, "no leader") {
		t.Fatalf("answered %+v", resp)
	}
	if !actortest.Eventually(20*time.Second, func() bool { return f.alive() == 0 }) {
		t.Fatal("the replica was not removed")
	}
	if n := testutil.ToFloat64(f.metrics.clustersFailed.WithLabelValues("raft", "no_leader")); n != 1 {
		t.Errorf("no_leader %v", n)
	}
}

// A head that goes silent after formation: the cluster is dropped after AbandonAfter.
func TestClusters_AbandonedClusterIsDropped(t *testing.T) {
	f := newClustersFixture(t, func(c *clustersConfig) { c.AbandonAfter = 200 * time.Millisecond })
	f.form(messages.MsgFormCluster{RequestID: "orphan", Consensus: messages.ConsensusRaft, Peers: []peer.ID{f.self}})
	if _, resp := f.answer(t); resp.Code != messages.CodeOK {
		t.Fatalf("answered %+v", resp)
	}
	if !actortest.Eventually(20*time.Second, func() bool {
		return testutil.ToFloat64(f.metrics.clustersFailed.WithLabelValues("raft", "abandoned")) == 1 && f.alive() == 0
	}) {
		t.Fatal("the abandoned cluster was not dropped")
	}
}

func mustPeerID(t *testing.T) peer.ID {
	t.Helper()
	h, err := libp2p.New(libp2p.NoListenAddrs, libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	id := h.ID()
	_ = h.Close()
	return id
}

// The host's PBFT endpoint belongs to the clusters actor: installed when it starts, removed and
// installed again when a crash restarts it, so PBFT clusters form before and after.
func TestClusters_PBFTEndpointSurvivesARestart(t *testing.T) {
	f := newClustersFixture(t, func(c *clustersConfig) { c.Key = newKey(t) })
	endpoint := protocol.ID(pbft.ProtocolPrefix + "*")
	listed := func() bool { return slices.Contains(f.lh.Mux().Protocols(), endpoint) }
	peers := []peer.ID{f.self, newPeerID(), newPeerID(), newPeerID()}
	for i, id := range []string{"before", "after"} {
		f.form(messages.MsgFormCluster{RequestID: id, Consensus: messages.ConsensusPBFT, Peers: peers})
		if _, resp := f.answer(t); resp.Code != messages.CodeOK || !listed() {
			t.Fatalf("%s the restart: answered %s %q, endpoint listed %v", id, resp.Code, resp.Message, listed())
		}
		if i == 0 {
			if err := f.faults.Crash("clusters", "injected"); err != nil {
				t.Fatal(err)
			}
			f.sys.WaitActor(t, "clusters", func(a inspect.ActorInfo) bool { return a.Restarts == 1 && a.State == inspect.StateRunning }, 10*time.Second)
		}
	}
}
