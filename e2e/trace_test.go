package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/messages"
)

// withRings makes every node keep its actors' recent messages.
func withRings(_ int, c *config.Config) { c.RecentMessages = 64 }

// path renders a node's steps as "actor dir:type" for comparison.
func path(steps []api.NodeTrace, i int) []string {
	var out []string
	for _, s := range steps[i].Steps {
		out = append(out, s.Actor+" "+s.Dir+":"+s.Type)
	}
	return out
}

// wantInOrder fails unless want appears in got in this order (other steps may come between).
func wantInOrder(t *testing.T, who string, got, want []string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Fatalf("%s path lacks %q (in this order):\n  %s", who, want[i], strings.Join(got, "\n  "))
	}
}

// A request's path, asked of the head, shows both the head's actors and the worker's, in order.
func TestTrace_FollowsARequestThroughTheHeadAndItsWorker(t *testing.T) {
	net := guestNetwork(t, 1, withRings)
	resp := execute(t, net.Head, guestRequest(1))
	if resp.Code != messages.CodeOK {
		t.Fatalf("execute: %s %s", resp.Code, resp.Message)
	}
	id := resp.RequestID
	// The answer leaves from inside the supervisor's last receive, before the registry keeps
	// that message: wait for the supervisor to be gone, and with it the last record made.
	// The same holds on the worker: its execution sends the result from inside the receive
	// that the registry records once it returns.
	for who, n := range map[string]*daemontest.Node{"node/requests/": net.Head, "node/work/": net.Workers[0]} {
		if !actortest.Eventually(10*time.Second, func() bool { _, ok := n.Node.Inspect().Find(who + id); return !ok }) {
			t.Fatalf("%s%s is still in the tree", who, id)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := debugAPI(net.Head).Trace(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	worker := net.Workers[0].Host.ID().String()
	if tr.Request != id || len(tr.Nodes) != 2 || tr.Nodes[0].Node != net.Head.Host.ID().String() || tr.Nodes[1].Node != worker {
		t.Fatalf("trace nodes: %+v", tr.Nodes)
	}
	if tr.Nodes[1].Error != "" || tr.Nodes[1].Role != "worker" {
		t.Fatalf("worker part: %+v", tr.Nodes[1])
	}
	req := "node/requests/" + id
	wantInOrder(t, "head", path(tr.Nodes, 0), []string{
		"node/requests in:execute request",
		req + " life:started",
		req + " out:MsgRollCall",
		"node/router in:MsgRollCallResponse",
		"node/requests in:MsgRollCallResponse",
		req + " in:MsgRollCallResponse",
		req + " out:MsgExecute",
		"node/router in:MsgExecuteResponse",
		req + " in:MsgExecuteResponse",
		req + " out:answer",
		req + " life:stopped",
	})
	work := "node/work/" + id
	wantInOrder(t, "worker", path(tr.Nodes, 1), []string{
		"node/router in:MsgRollCall",
		"node/work in:MsgRollCall",
		"node/work out:MsgRollCallResponse",
		"node/router in:MsgExecute",
		"node/work in:MsgExecute",
		work + " life:started",
		work + " out:run",
		work + " in:executor result",
		work + " out:MsgExecuteResponse",
		work + " life:stopped",
	})
	for _, s := range tr.Nodes[1].Steps {
		if s.Actor == "node/router" && s.Type == messages.TypeExecute && s.Peer != net.Head.Host.ID().String() {
			t.Errorf("the worker's router step names peer %q, want the head", s.Peer)
		}
	}

	// The worker tells its part only to a node that took part.
	other := net.StartNode(net.NodeConfig(2), nil, []string{net.Head.Host.Addresses()[0]})
	if !connect(other, net.Workers[0]) {
		t.Fatal("the stranger could not connect to the worker")
	}
	answer, err := other.Host.QueryTrace(ctx, net.Workers[0].Host.ID(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(answer), "no record of") || strings.Contains(string(answer), "node/work/") {
		t.Fatalf("a stranger was told %s", answer)
	}
}

// A node that keeps no recent messages says so instead of showing an empty path.
func TestTrace_WithoutRingsThePeerSaysWhy(t *testing.T) {
	net := guestNetwork(t, 1, func(i int, c *config.Config) {
		if i == 0 {
			c.RecentMessages = 16 // only the head keeps them
		}
	})
	resp := execute(t, net.Head, guestRequest(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := debugAPI(net.Head).Trace(ctx, resp.RequestID, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Nodes) != 2 || len(tr.Nodes[0].Steps) == 0 || !strings.Contains(tr.Nodes[1].Error, "--recent-messages 0") {
		t.Fatalf("trace %+v", tr)
	}
}

// connect dials b from a.
func connect(a, b *daemontest.Node) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.Host.LibP2P().Connect(ctx, peer.AddrInfo{ID: b.Host.ID(), Addrs: b.Host.LibP2P().Addrs()}) == nil
}
