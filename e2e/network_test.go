package e2e

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// Metric names and labels as /metrics shows them.
const (
	processed = "b7s_node_messages_processed"
	dropped   = "b7s_node_messages_dropped"
)

func typ(t string) map[string]string { return map[string]string{"type": t} }

func drop(pipeline, reason string) map[string]string {
	return map[string]string{"pipeline": pipeline, "reason": reason}
}

func send(t *testing.T, from, to *daemontest.Node, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := from.Host.Send(ctx, to.Host.ID(), data); err != nil {
		t.Fatalf("send: %v", err)
	}
}

const installResponse = `{"code":"202","message":"installed","cid":"bafy","type":"MsgInstallFunctionResponse"}`

func TestNetwork_WorkersReceiveTheHeadsHealthPing(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 2, Configure: func(i int, c *config.Config) {
		c.HealthInterval = time.Hour // only the head pings in this test
		if i == 0 {
			c.HealthInterval = 100 * time.Millisecond
		}
	}})
	for _, w := range net.Workers {
		w.WaitMetric(t, "b7s_node_messages_processed_ok", typ(messages.TypeHealthCheck), 2)
	}
}

func TestNetwork_DirectMessagesAreRoutedOrDroppedByTheRules(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1})
	head, worker := net.Head, net.Workers[0]

	// Allowed: a worker's install response reaches the head's router and passes its filters.
	send(t, worker, head, []byte(installResponse))
	head.WaitMetric(t, processed, typ(messages.TypeInstallFunctionResponse), 1)

	// A roll call may only be published; a head never takes install requests.
	send(t, worker, head, []byte(`{"origin":"`+worker.Host.ID().String()+`","function_id":"f","request_id":"r","consensus":0,"type":"MsgRollCall"}`))
	head.WaitMetric(t, dropped, drop("direct", "not_allowed_on_pipeline"), 1)
	send(t, worker, head, []byte(`{"cid":"bafy","type":"MsgInstallFunction"}`))
	head.WaitMetric(t, dropped, drop("direct", "not_allowed_for_role"), 1)
}

func TestNetwork_BadInputIsDroppedAndTheNodeKeepsWorking(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1})
	head, worker := net.Head, net.Workers[0]

	// Direct pipeline: malformed, unknown type, larger than the node's direct-message limit.
	send(t, worker, head, []byte(`{"type":`))
	head.WaitMetric(t, dropped, drop("direct", "malformed"), 1)
	send(t, worker, head, []byte(`{"type":"MsgTeleport"}`))
	head.WaitMetric(t, dropped, drop("direct", "unknown_type"), 1)
	limit := messages.DirectMessageLimit(config.Default().Worker.MaxOutputBytes)
	huge := bytes.Repeat([]byte("x"), limit+1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = worker.Host.Send(ctx, head.Host.ID(), huge) // the head resets the stream; the error is expected
	cancel()
	head.WaitMetric(t, dropped, drop("direct", "too_large"), 1)

	// Pubsub pipeline: malformed and unknown types published on the default topic.
	pubCtx, pubCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pubCancel()
	if err := worker.Host.Publish(pubCtx, p2p.DefaultTopic, []byte(`{{{{`)); err != nil {
		t.Fatal(err)
	}
	head.WaitMetric(t, dropped, drop("pubsub", "malformed"), 1)
	if err := worker.Host.Publish(pubCtx, p2p.DefaultTopic, []byte(`{"type":"MsgTeleport"}`)); err != nil {
		t.Fatal(err)
	}
	head.WaitMetric(t, dropped, drop("pubsub", "unknown_type"), 1)

	// Still working: a good message after all that is processed, and nothing restarted.
	send(t, worker, head, []byte(installResponse))
	head.WaitMetric(t, processed, typ(messages.TypeInstallFunctionResponse), 1)
	for _, a := range head.Node.Inspect().Snapshot() {
		if a.Restarts != 0 {
			t.Errorf("actor %s restarted %d times", a.ID, a.Restarts)
		}
	}
}

// A message as large as the direct-message limit allows is read and routed, not dropped.
func TestNetwork_MessageAtTheLimitIsAccepted(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1})
	head, worker := net.Head, net.Workers[0]
	limit := messages.DirectMessageLimit(config.Default().Worker.MaxOutputBytes)
	prefix, suffix := `{"code":"202","message":"`, `","cid":"bafy","type":"MsgInstallFunctionResponse"}`
	msg := prefix + string(bytes.Repeat([]byte("m"), limit-len(prefix)-len(suffix))) + suffix
	send(t, worker, head, []byte(msg))
	head.WaitMetric(t, processed, typ(messages.TypeInstallFunctionResponse), 1)
}

func waitRestarted(t *testing.T, n *daemontest.Node, id string, restarts int64) {
	t.Helper()
	if !actortest.Eventually(10*time.Second, func() bool {
		a, ok := n.Node.Inspect().Find(id)
		return ok && a.Restarts == restarts && a.State == inspect.StateRunning
	}) {
		a, _ := n.Node.Inspect().Find(id)
		t.Fatalf("%s: %+v, want running after %d restarts", id, a, restarts)
	}
}

func TestNetwork_RouterPanicIsRestartedAndShownInTheTree(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1})
	head, worker := net.Head, net.Workers[0]
	if err := head.Faults.Crash("node/router", "injected by test"); err != nil {
		t.Fatal(err)
	}
	waitRestarted(t, head, "node/router", 1)
	if a, _ := head.Node.Inspect().Find("node/router"); a.LastError != "injected by test" {
		t.Errorf("last error %q, want the injected panic", a.LastError)
	}
	send(t, worker, head, []byte(installResponse))
	head.WaitMetric(t, processed, typ(messages.TypeInstallFunctionResponse), 1)
}

func TestNetwork_RestartedWorkerFindsTheHeadFromSavedPeers(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 0})
	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := net.NodeConfig(1)
	first := net.StartNode(cfg, key, []string{net.Head.Host.Addresses()[0]})
	if !actortest.Eventually(10*time.Second, func() bool { return first.Host.Connected(net.Head.Host.ID()) }) {
		t.Fatal("worker never connected to the head")
	}
	first.Stop()

	second := net.StartNode(cfg, key, nil) // same key, workspace and db; no boot nodes
	if !actortest.Eventually(10*time.Second, func() bool { return second.Host.Connected(net.Head.Host.ID()) }) {
		t.Fatal("restarted worker did not dial the head back from its saved peers")
	}
}

// A child that fails more often than its backoff allows is stopped; the root then restarts and
// rebuilds the whole tree rather than running on without it.
func TestNetwork_ChildStoppedForGoodRestartsTheRoot(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1,
		Backoff: &actors.BackoffConfig{MaxRestarts: 1, Window: time.Minute}})
	head, worker := net.Head, net.Workers[0]
	if err := head.Faults.Crash("node/router", "first"); err != nil {
		t.Fatal(err)
	}
	waitRestarted(t, head, "node/router", 1)
	if err := head.Faults.Crash("node/router", "second"); err != nil {
		t.Fatal(err)
	}
	if !actortest.Eventually(10*time.Second, func() bool {
		root, ok := head.Node.Inspect().Find("node")
		router, rok := head.Node.Inspect().Find("node/router")
		return ok && root.Restarts == 1 && rok && router.Restarts == 0 && router.State == inspect.StateRunning
	}) {
		root, _ := head.Node.Inspect().Find("node")
		t.Fatalf("root after a child stopped for good: %+v", root)
	}
	send(t, worker, head, []byte(installResponse))
	head.WaitMetric(t, processed, typ(messages.TypeInstallFunctionResponse), 1)
}

// A root that keeps failing is given up on; the node says so, so its daemon can exit instead of
// running without actors.
func TestNetwork_RootFailingTooOftenIsReported(t *testing.T) {
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{})
	head := net.Head
	for i := range 11 { // protoactor's default for a root: 10 restarts within 10 s
		// Queued while the root restarts; once it is given up on, there is nothing to crash.
		_ = head.Faults.Crash("node", fmt.Sprintf("crash %d", i))
	}
	select {
	case <-head.Node.Failed():
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not report its failure")
	}
}
