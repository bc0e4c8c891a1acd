package actors

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/messages"
)

const testPeer = peer.ID("\x00\x24\x08\x01\x12\x20 test-peer-id-bytes-000000000")

func TestRouter_DeliversAdmittedMessagesAndDropsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		metrics := newMetrics(nil)
		worker := sys.NewProbe(t, "work")
		installer := sys.NewProbe(t, "installer")
		router := sys.Spawn(t, "router", "router", newRouter(routerConfig{
			Role: RoleWorker,
			Owners: map[string]*actor.PID{
				messages.TypeRollCall:        worker.PID,
				messages.TypeExecute:         worker.PID,
				messages.TypeInstallFunction: installer.PID,
			},
			Metrics: metrics,
			Log:     sys.Log,
		}))
		topic := pipeline{Topic: "blockless/b7s/general"}
		direct := pipeline{Direct: true}
		rollCall := `{"origin":"12D3KooWH9GerdSEroL2nqjpd2GuE5dwmqNi7uHX7FoywBdKcP4q","function_id":"f","request_id":"r","consensus":0,"type":"MsgRollCall"}`
		cases := []struct {
			name     string
			pipeline pipeline
			data     string
			to       *actortest.Probe // nil: dropped
			reason   string
		}{
			{"roll call on a topic", topic, rollCall, worker, ""},
			{"install direct", direct, `{"cid":"bafy","type":"MsgInstallFunction"}`, installer, ""},
			{"roll call direct is not allowed", direct, rollCall, nil, dropPipeline},
			{"execute response is not for workers", direct, `{"cluster":{},"type":"MsgExecuteResponse"}`, nil, dropRole},
			{"malformed on a topic", topic, `{"type":`, nil, dropMalformed},
			{"malformed direct", direct, `not json at all`, nil, dropMalformed},
			{"unknown type on a topic", topic, `{"type":"MsgTeleport"}`, nil, dropUnknownType},
			{"unknown type direct", direct, `{"type":"MsgTeleport"}`, nil, dropUnknownType},
			{"no type", direct, `{"cid":"x"}`, nil, dropUnknownType},
			{"invalid: install without cid", direct, `{"type":"MsgInstallFunction"}`, nil, dropInvalid},
			{"wrong field type", direct, `{"cid":7,"type":"MsgInstallFunction"}`, nil, dropMalformed},
			{"form cluster has no owner here", direct, `{"request_id":"r","type":"MsgDisbandCluster"}`, nil, dropNoOwner},
		}
		for _, c := range cases {
			before := testutil.ToFloat64(metrics.messagesDropped.WithLabelValues(c.pipeline.String(), c.reason))
			done := make(chan struct{})
			sys.Send(router, &inbound{Pipeline: c.pipeline, From: testPeer, Author: testPeer, Data: []byte(c.data),
				Done: func() { close(done) }})
			if c.to != nil {
				d := actortest.Expect[*delivery](t, c.to, time.Second)
				if d.From != testPeer || d.Pipeline != c.pipeline {
					t.Errorf("%s: delivery %+v", c.name, d)
				}
				continue
			}
			<-done // the router is through with the message
			if got := testutil.ToFloat64(metrics.messagesDropped.WithLabelValues(c.pipeline.String(), c.reason)); got != before+1 {
				t.Errorf("%s: dropped{%s,%s} = %v, want %v", c.name, c.pipeline, c.reason, got, before+1)
			}
		}
		worker.ExpectNone(t, 100*time.Millisecond)
		installer.ExpectNone(t, 100*time.Millisecond)
	})
}

func TestRouter_PanicIsRestartedAndRoutingContinues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		faults := actortest.NewFaults()
		owner := sys.NewProbe(t, "installer")
		// A parent with the node's strategy, so the restart goes through our supervisor.
		router := actor.NewPID(sys.Address(), "node/router")
		sys.Spawn(t, "node", "node", func() actor.Actor {
			return actor.ReceiveFunc(func(ctx actor.Context) {
				if _, ok := ctx.Message().(*actor.Started); ok {
					_, _ = ctx.SpawnNamed(sys.Registry.Props("router", newRouter(routerConfig{
						Role: RoleWorker, Owners: map[string]*actor.PID{messages.TypeInstallFunction: owner.PID},
						Metrics: newMetrics(nil), Log: sys.Log,
					}), actor.WithReceiverMiddleware(faults.Middleware)), "router")
				}
			})
		}, actor.WithSupervisor(newOneForOneBackoff(DefaultBackoff())))
		sys.WaitActor(t, "node/router", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)

		if err := faults.Crash("node/router", "injected"); err != nil {
			t.Fatal(err)
		}
		info := sys.WaitActor(t, "node/router", func(a inspect.ActorInfo) bool {
			return a.Restarts == 1 && a.State == inspect.StateRunning
		}, 5*time.Second)
		if info.LastError != "injected" {
			t.Errorf("last error %q, want the injected panic", info.LastError)
		}
		sys.Send(router, &inbound{Pipeline: pipeline{Direct: true}, From: testPeer, Author: testPeer,
			Data: []byte(`{"cid":"bafy","type":"MsgInstallFunction"}`)})
		d := actortest.Expect[*delivery](t, owner, time.Second)
		if m, ok := d.Message.(messages.MsgInstallFunction); !ok || m.CID != "bafy" {
			t.Fatalf("delivered %#v", d.Message)
		}
	})
}
