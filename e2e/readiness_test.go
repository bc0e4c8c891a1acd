package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/p2p"
)

// /readyz of real nodes: every check passes on a network that can run a request; a head that
// lost its only peer says so; a topic listener that is down (waiting out its restart backoff)
// holds the node back, named. The drain check is in the drain tests.
func TestReadiness_ReportsWhatHoldsARealNodeBack(t *testing.T) {
	// A listener's first restart is at once, the second waits an hour: two crashes keep it down.
	slow := actors.BackoffConfig{Window: time.Hour, Initial: time.Hour, Max: time.Hour}
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1, Backoff: &slow})
	head, worker := net.Head, net.Workers[0]

	for _, c := range []struct {
		node   *daemontest.Node
		checks []string
	}{
		{head, []string{"host", "subscribed", "store", "draining", "peers"}},
		{worker, []string{"host", "subscribed", "store", "draining"}},
	} {
		probe, code := readyz(t, c.node)
		if code != http.StatusOK {
			t.Fatalf("/readyz of a running network: %d %+v", code, probe)
		}
		for _, name := range c.checks {
			if !passing(probe, name) {
				t.Errorf("/readyz: check %q missing or failing in %+v", name, probe)
			}
		}
	}

	listener := "node/topics/" + p2p.DefaultTopic
	if err := worker.Faults.Crash(listener, "injected"); err != nil {
		t.Fatal(err)
	}
	if !actortest.Eventually(time.Minute, func() bool { _, code := readyz(t, worker); return code == http.StatusOK }) {
		t.Fatal("the worker is not ready again after its listener's first, immediate restart")
	}
	if err := worker.Faults.Crash(listener, "injected again"); err != nil {
		t.Fatal(err)
	}
	if !actortest.Eventually(time.Minute, func() bool {
		probe, code := readyz(t, worker)
		return code == http.StatusServiceUnavailable && failingWith(probe, "subscribed", listener)
	}) {
		probe, code := readyz(t, worker)
		t.Fatalf("/readyz with the topic listener down: %d %+v, want 503 naming %s", code, probe, listener)
	}

	net.Kill(worker)
	if !actortest.Eventually(time.Minute, func() bool {
		probe, code := readyz(t, head)
		return code == http.StatusServiceUnavailable && failingWith(probe, "peers", "0 connected")
	}) {
		probe, code := readyz(t, head)
		t.Fatalf("/readyz of a head without peers: %d %+v, want 503 on peers", code, probe)
	}
}

func passing(p api.Probe, name string) bool {
	for _, c := range p.Checks {
		if c.Name == name {
			return c.OK
		}
	}
	return false
}

// failingWith: the check named name fails and its detail mentions detail.
func failingWith(p api.Probe, name, detail string) bool {
	for _, c := range p.Checks {
		if c.Name == name {
			return !c.OK && strings.Contains(c.Detail, detail)
		}
	}
	return false
}
