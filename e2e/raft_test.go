package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/messages"
)

// raftRequest runs the test function on a Raft cluster of nodes workers.
func raftRequest(nodes int) messages.ExecutionRequest {
	req := guestRequest(nodes)
	req.Config.ConsensusAlgorithm = "raft"
	return req
}

var raftLabels = map[string]string{"consensus": "raft"}

// clustersGone waits until no worker holds a cluster: the gauge is back to zero and no replica
// actor is left in any tree.
func clustersGone(t *testing.T, workers ...*daemontest.Node) {
	t.Helper()
	for _, w := range workers {
		gone := func() bool { return w.Metric(t, "b7s_node_clusters_alive", raftLabels) == 0 && len(replicas(w)) == 0 }
		if !actortest.Eventually(20*time.Second, gone) {
			t.Errorf("%s still has clusters: %v alive, replica actors %+v", w.Host.ID(),
				w.Metric(t, "b7s_node_clusters_alive", raftLabels), replicas(w))
		}
	}
}

// replicas are the Raft replica actors of a worker's tree.
func replicas(w *daemontest.Node) []inspect.ActorInfo {
	var out []inspect.ActorInfo
	for _, a := range w.Node.Inspect().Snapshot() {
		if a.Kind == "raft-replica" {
			out = append(out, a)
		}
	}
	return out
}

// The original fails about one Raft request in three back to back, and a node is in one
// cluster at a time; here ten in a row and ten at once on the same three workers all succeed.
func TestRaft_BackToBackAndConcurrentOnTheSameWorkers(t *testing.T) {
	t.Parallel() // its own network; mostly waiting on timers
	net := guestNetwork(t, 3, nil)
	warmUp(t, net)
	// One first: every replica runs it once, and every cluster is disbanded.
	wantBoth(t, execute(t, net.Head, raftRequest(3)), net.Workers...)
	clustersGone(t, net.Workers...)
	for _, w := range net.Workers {
		if n := w.Metric(t, "b7s_node_clusters_disbanded", raftLabels); n != 1 {
			t.Errorf("%s: %v clusters disbanded, want 1", w.Host.ID(), n)
		}
	}
	for range 10 {
		wantBoth(t, execute(t, net.Head, raftRequest(3)), net.Workers...)
	}
	var wg sync.WaitGroup
	answers := make(chan messages.ExecutionResponse, 10)
	for range 10 {
		wg.Go(func() { answers <- execute(t, net.Head, raftRequest(3)) })
	}
	wg.Wait()
	close(answers)
	for resp := range answers {
		wantBoth(t, resp, net.Workers...)
	}
	clustersGone(t, net.Workers...)
}

// heldRequest is a request whose MsgExecute is held at every worker once its cluster formed.
type heldRequest struct {
	t     *testing.T
	holds []*actortest.Rule
	done  chan messages.ExecutionResponse
	err   error // the REST call's, set before done is sent on
}

// holdAtFormation sends req through the head's REST API with its MsgExecute held at every
// worker, and returns once each was sent one, that is once the cluster formed.
func holdAtFormation(t *testing.T, net *daemontest.Network, req messages.ExecutionRequest) *heldRequest {
	t.Helper()
	h := &heldRequest{t: t, done: make(chan messages.ExecutionResponse, 1)}
	for _, w := range net.Workers {
		h.holds = append(h.holds, net.Hold(net.Head, w, messages.TypeExecute))
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resp, err := rest(net.Head).Execute(ctx, req)
		h.err = err
		h.done <- resp
	}()
	for _, r := range h.holds {
		if !r.WaitHits(1, 30*time.Second) {
			t.Fatal("the cluster did not form: no MsgExecute was sent")
		}
	}
	return h
}

// release lets the held MsgExecute go on and waits for the head's answer.
func (h *heldRequest) release() messages.ExecutionResponse {
	h.t.Helper()
	for _, r := range h.holds {
		r.Release()
	}
	select {
	case resp := <-h.done:
		if h.err != nil {
			h.t.Errorf("execute: %v", h.err)
		}
		return resp
	case <-time.After(time.Minute):
		h.t.Fatal("no answer")
	}
	return messages.ExecutionResponse{}
}

// raftFault starts a request on a Raft cluster of the three workers; once it formed, fault runs
// with the leader and the followers, then the MsgExecute goes out and the answer is returned.
func raftFault(t *testing.T, net *daemontest.Network, fault func(leader *daemontest.Node, followers []*daemontest.Node)) messages.ExecutionResponse {
	t.Helper()
	req := raftRequest(3)
	// The killed worker got its MsgExecute before it died (it was held at its end), so the
	// head waits for it until the request's deadline: 3 s, not the default 20 s.
	req.Config.Timeout = 3
	held := holdAtFormation(t, net, req)
	fault(raftRoles(t, net.Workers))
	return held.release()
}

// raftRoles reads from the workers' trees which of them leads the one live cluster.
func raftRoles(t *testing.T, workers []*daemontest.Node) (*daemontest.Node, []*daemontest.Node) {
	t.Helper()
	var leader *daemontest.Node
	var followers []*daemontest.Node
	for _, w := range workers {
		r := replicas(w)
		if len(r) != 1 {
			t.Fatalf("%s has %d replicas, want 1", w.Host.ID(), len(r))
		}
		// The replica's line: "formed · leader term 2 · leader …abcdef · peers …".
		if strings.Contains(r[0].Behaviour, "· leader term") {
			leader = w
		} else {
			followers = append(followers, w)
		}
	}
	if leader == nil || len(followers) != 2 {
		t.Fatalf("want one leader and two followers")
	}
	return leader, followers
}

// A follower dies after the cluster formed: the other two still commit, and the head answers
// with their two results (2 of 3 meets the 60% threshold).
func TestRaft_FollowerKilledAfterFormation(t *testing.T) {
	t.Parallel() // its own network; mostly waiting on timers
	net := guestNetwork(t, 3, nil)
	warmUp(t, net)
	var alive []*daemontest.Node
	resp := raftFault(t, net, func(leader *daemontest.Node, followers []*daemontest.Node) {
		net.Kill(followers[0])
		alive = []*daemontest.Node{leader, followers[1]}
	})
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting ||
		len(resp.Results[0].Peers) != 2 {
		t.Fatalf("want 200 with the greeting from the 2 live workers, got %+v", resp)
	}
	clustersGone(t, alive...)
}

// The leader dies after the cluster formed: the followers hold the head's request, elect a new
// leader, which appends it, and both run it.
func TestRaft_LeaderKilledAfterFormation(t *testing.T) {
	t.Parallel() // its own network; mostly waiting on timers
	net := guestNetwork(t, 3, func(_ int, c *config.Config) {
		// A quicker election than the 300 ms default; the request completes either way.
		c.Cluster.RaftHeartbeatTimeout, c.Cluster.RaftElectionTimeout, c.Cluster.RaftLeaderLeaseTimeout =
			100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	})
	warmUp(t, net)
	var alive []*daemontest.Node
	resp := raftFault(t, net, func(leader *daemontest.Node, followers []*daemontest.Node) {
		net.Kill(leader)
		alive = followers
	})
	if resp.Code != messages.CodeOK || len(resp.Results) != 1 || resp.Results[0].Result.Stdout != greeting ||
		len(resp.Results[0].Peers) != 2 {
		t.Fatalf("want 200 with the greeting from the 2 followers, got %+v", resp)
	}
	clustersGone(t, alive...)
}

// The head dies after the cluster formed: nobody will disband it, so each worker drops it once
// the head has been silent for the abandon bound.
func TestRaft_HeadGoneWorkersDropTheCluster(t *testing.T) {
	t.Parallel() // its own network; mostly waiting on timers
	net := guestNetwork(t, 3, func(_ int, c *config.Config) { c.Cluster.AbandonAfter = 300 * time.Millisecond })
	warmUp(t, net)
	holdAtFormation(t, net, raftRequest(3)) // the head dies before it answers
	// A crash, not a stop: a stopping head still disbands its clusters, so its messages are
	// cut off first.
	for _, w := range net.Workers {
		net.Partition(net.Head, w)
	}
	net.Kill(net.Head)
	for _, w := range net.Workers {
		w.WaitMetric(t, "b7s_node_clusters_failed", map[string]string{"consensus": "raft", "reason": "abandoned"}, 1)
	}
	clustersGone(t, net.Workers...)
}
