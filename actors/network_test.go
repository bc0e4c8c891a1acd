package actors_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// waitCounter waits until c reaches at least want.
func waitCounter(t *testing.T, what string, c prometheus.Collector, want float64) {
	t.Helper()
	if !actortest.Eventually(10*time.Second, func() bool { return testutil.ToFloat64(c) >= want }) {
		t.Fatalf("%s = %v, want ≥ %v", what, testutil.ToFloat64(c), want)
	}
}

func send(t *testing.T, from, to *daemon.Daemon, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := from.Host.Send(ctx, to.Host.ID(), data); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func TestNetwork_WorkersReceiveTheHeadsHealthPing(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Workers: 2, Configure: func(i int, c *config.Config) {
		c.HealthInterval = time.Hour // only the head pings in this test
		if i == 0 {
			c.HealthInterval = 100 * time.Millisecond
		}
	}})
	for _, w := range net.Workers {
		waitCounter(t, "worker health pings", w.Node.Metrics().MessagesProcessedOK.WithLabelValues(messages.TypeHealthCheck), 2)
	}
}

func TestNetwork_DirectMessagesAreRoutedOrDroppedByTheRules(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Workers: 1})
	head, worker := net.Head, net.Workers[0]
	m := head.Node.Metrics()

	// Allowed: a worker's install response reaches the head's router and passes its filters.
	send(t, worker, head, []byte(`{"code":"202","message":"installed","cid":"bafy","type":"MsgInstallFunctionResponse"}`))
	waitCounter(t, "head processed install responses", m.MessagesProcessed.WithLabelValues(messages.TypeInstallFunctionResponse), 1)

	// A roll call may only be published; a head never takes install requests.
	send(t, worker, head, []byte(`{"origin":"`+worker.Host.ID().String()+`","function_id":"f","request_id":"r","consensus":0,"type":"MsgRollCall"}`))
	waitCounter(t, "dropped for pipeline", m.MessagesDropped.WithLabelValues("direct", actors.DropPipeline), 1)
	send(t, worker, head, []byte(`{"cid":"bafy","type":"MsgInstallFunction"}`))
	waitCounter(t, "dropped for role", m.MessagesDropped.WithLabelValues("direct", actors.DropRole), 1)
}

func TestNetwork_BadInputIsDroppedAndTheNodeKeepsWorking(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Workers: 1})
	head, worker := net.Head, net.Workers[0]
	m := head.Node.Metrics()

	// Direct pipeline: malformed, unknown type, larger than the router's limit, larger than
	// the stream's limit.
	send(t, worker, head, []byte(`{"type":`))
	waitCounter(t, "direct malformed", m.MessagesDropped.WithLabelValues("direct", actors.DropMalformed), 1)
	send(t, worker, head, []byte(`{"type":"MsgTeleport"}`))
	waitCounter(t, "direct unknown", m.MessagesDropped.WithLabelValues("direct", actors.DropUnknownType), 1)
	big := append(append([]byte(`{"cid":"`), bytes.Repeat([]byte("a"), messages.DefaultMaxSize)...), `","type":"MsgInstallFunctionResponse"}`...)
	send(t, worker, head, big)
	waitCounter(t, "direct too large (router)", m.MessagesDropped.WithLabelValues("direct", actors.DropTooLarge), 1)
	huge := bytes.Repeat([]byte("x"), p2p.DefaultMaxDirectMessageBytes+1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = worker.Host.Send(ctx, head.Host.ID(), huge) // the head resets the stream; the error is expected
	cancel()
	waitCounter(t, "direct too large (stream)", m.MessagesDropped.WithLabelValues("direct", actors.DropTooLarge), 2)

	// Pubsub pipeline: malformed and unknown types published on the default topic.
	pubCtx, pubCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pubCancel()
	if err := worker.Host.Publish(pubCtx, p2p.DefaultTopic, []byte(`{{{{`)); err != nil {
		t.Fatal(err)
	}
	waitCounter(t, "pubsub malformed", m.MessagesDropped.WithLabelValues("pubsub", actors.DropMalformed), 1)
	if err := worker.Host.Publish(pubCtx, p2p.DefaultTopic, []byte(`{"type":"MsgTeleport"}`)); err != nil {
		t.Fatal(err)
	}
	waitCounter(t, "pubsub unknown", m.MessagesDropped.WithLabelValues("pubsub", actors.DropUnknownType), 1)

	// Still working: a good message after all that is processed, and nothing restarted.
	send(t, worker, head, []byte(`{"code":"202","message":"installed","cid":"bafy","type":"MsgInstallFunctionResponse"}`))
	waitCounter(t, "processed after bad input", m.MessagesProcessed.WithLabelValues(messages.TypeInstallFunctionResponse), 1)
	for _, a := range head.Node.Inspect().Snapshot() {
		if a.Restarts != 0 {
			t.Errorf("actor %s restarted %d times", a.ID, a.Restarts)
		}
	}
}

func TestNetwork_RouterPanicIsRestartedAndShownInTheTree(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Workers: 1})
	head, worker := net.Head, net.Workers[0]
	head.Node.Send(head.Node.Child("router"), inspect.Crash("injected by test"))
	if !actortest.Eventually(10*time.Second, func() bool {
		a, ok := head.Node.Inspect().Find("node/router")
		return ok && a.Restarts == 1 && a.State == inspect.StateRunning
	}) {
		a, _ := head.Node.Inspect().Find("node/router")
		t.Fatalf("router after panic: %+v", a)
	}
	send(t, worker, head, []byte(`{"code":"202","message":"installed","cid":"bafy","type":"MsgInstallFunctionResponse"}`))
	waitCounter(t, "processed after restart", head.Node.Metrics().MessagesProcessed.WithLabelValues(messages.TypeInstallFunctionResponse), 1)
}

func TestNetwork_RestartedWorkerFindsTheHeadFromSavedPeers(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Workers: 0})
	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := net.NodeConfig(1)
	first := net.StartNodeWith(cfg, key, []string{net.Head.Host.Addresses()[0]})
	if !actortest.Eventually(10*time.Second, func() bool { return first.Host.Connected(net.Head.Host.ID()) }) {
		t.Fatal("worker never connected to the head")
	}
	first.Stop()

	second := net.StartNodeWith(cfg, key, nil) // same key, workspace and db; no boot nodes
	if !actortest.Eventually(10*time.Second, func() bool { return second.Host.Connected(net.Head.Host.ID()) }) {
		t.Fatal("restarted worker did not dial the head back from its saved peers")
	}
}

// A child that fails more often than its backoff allows is stopped; the root then restarts and
// rebuilds the whole tree rather than running on without it.
func TestNetwork_ChildStoppedForGoodRestartsTheRoot(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{Workers: 1,
		Backoff: &actors.BackoffConfig{MaxRestarts: 1, Window: time.Minute}})
	head, worker := net.Head, net.Workers[0]
	head.Node.Send(head.Node.Child("router"), inspect.Crash("first"))
	if !actortest.Eventually(10*time.Second, func() bool {
		a, ok := head.Node.Inspect().Find("node/router")
		return ok && a.Restarts == 1 && a.State == inspect.StateRunning
	}) {
		t.Fatal("router not restarted after the first panic")
	}
	head.Node.Send(head.Node.Child("router"), inspect.Crash("second"))
	if !actortest.Eventually(10*time.Second, func() bool {
		root, ok := head.Node.Inspect().Find("node")
		router, rok := head.Node.Inspect().Find("node/router")
		return ok && root.Restarts == 1 && rok && router.Restarts == 0 && router.State == inspect.StateRunning
	}) {
		root, _ := head.Node.Inspect().Find("node")
		t.Fatalf("root after a child stopped for good: %+v", root)
	}
	send(t, worker, head, []byte(`{"code":"202","message":"installed","cid":"bafy","type":"MsgInstallFunctionResponse"}`))
	waitCounter(t, "processed after the rebuild", head.Node.Metrics().MessagesProcessed.WithLabelValues(messages.TypeInstallFunctionResponse), 1)
}

// A root that keeps failing is given up on; the node says so, so its daemon can exit instead of
// running without actors.
func TestNetwork_RootFailingTooOftenIsReported(t *testing.T) {
	net := actortest.NewNetwork(t, actortest.NetworkConfig{})
	head := net.Head
	for i := range 11 { // protoactor's default for a root: 10 restarts within 10 s
		head.Node.Send(head.Node.PID("node"), inspect.Crash(fmt.Sprintf("crash %d", i)))
	}
	select {
	case <-head.Node.Failed():
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not report its failure")
	}
}
