package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/api"
)

// liveness is /livez: the node's actors run and their root answers. It fails only when the
// process should be restarted.
func (d *Daemon) liveness(ctx context.Context) []api.Check {
	c := api.Check{Name: "actors", OK: true}
	if err := d.Node.Alive(ctx); err != nil {
		c.OK, c.Detail = false, err.Error()
	}
	return []api.Check{c}
}

// readiness is /readyz: whether the node takes work now. Every check is reported, passing or
// not, so an operator sees which one holds the node back.
func (d *Daemon) readiness(context.Context) []api.Check {
	checks := []api.Check{d.hostCheck(), d.listenersCheck(), d.storeCheck(), {Name: "draining", OK: !d.draining.Load()}}
	if !checks[3].OK {
		checks[3].Detail = "the node is shutting down"
	}
	if d.Config.IsHead() {
		// A head cannot tell a worker from another peer until it answers a roll call; a head
		// with no peer at all certainly has no one to run a request.
		peers := len(d.Host.Peers())
		c := api.Check{Name: "peers", OK: peers > 0, Detail: fmt.Sprintf("%d connected", peers)}
		checks = append(checks, c)
	}
	return checks
}

func (d *Daemon) hostCheck() api.Check {
	addrs := d.Host.Addresses()
	if len(addrs) == 0 {
		return api.Check{Name: "host", Detail: "the libp2p host listens on no address"}
	}
	return api.Check{Name: "host", OK: true, Detail: strings.Join(addrs, " ")}
}

// listenersCheck: every topic's listener and the direct listener run (a failed or restarting
// listener hears nothing until it is back, and a restart may wait out a backoff).
func (d *Daemon) listenersCheck() api.Check {
	want := map[string]bool{"node/direct": false}
	for _, t := range d.Host.Topics() {
		want["node/topics/"+t] = false
	}
	for _, a := range d.Node.Inspect().Snapshot() {
		if _, ok := want[a.ID]; ok && a.State == inspect.StateRunning {
			want[a.ID] = true
		}
	}
	var down []string
	for id, up := range want {
		if !up {
			down = append(down, id)
		}
	}
	if len(down) > 0 {
		slices.Sort(down)
		return api.Check{Name: "subscribed", Detail: "not running: " + strings.Join(down, ", ")}
	}
	return api.Check{Name: "subscribed", OK: true, Detail: fmt.Sprintf("%d topic(s) and direct messages", len(want)-1)}
}

// storeCheck: the node's database is open (and a worker's function store with it).
func (d *Daemon) storeCheck() api.Check {
	if err := d.db.View(func(*bbolt.Tx) error { return nil }); err != nil {
		return api.Check{Name: "store", Detail: err.Error()}
	}
	return api.Check{Name: "store", OK: true}
}
