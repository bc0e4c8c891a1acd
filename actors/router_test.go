package actors_test

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/messages"
)

const testPeer = peer.ID("\x00\x24\x08\x01\x12\x20 test-peer-id-bytes-000000000")

func TestRouter_DeliversAdmittedMessagesAndDropsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		metrics := actors.NewMetrics(nil)
		worker := sys.NewProbe(t, "work")
		installer := sys.NewProbe(t, "installer")
		router := sys.Spawn(t, "router", "router", actors.NewRouter(actors.RouterConfig{
			Role:            actors.RoleWorker,
			MaxMessageBytes: 512,
			Owners: map[string]*actor.PID{
				messages.TypeRollCall:        worker.PID,
				messages.TypeExecute:         worker.PID,
				messages.TypeInstallFunction: installer.PID,
			},
			Metrics: metrics,
			Log:     sys.Log,
		}))
		topic := actors.Pipeline{Topic: "blockless/b7s/general"}
		direct := actors.Pipeline{Direct: true}
		rollCall := `{"origin":"12D3KooWH9GerdSEroL2nqjpd2GuE5dwmqNi7uHX7FoywBdKcP4q","function_id":"f","request_id":"r","consensus":0,"type":"MsgRollCall"}`
		cases := []struct {
			name     string
			pipeline actors.Pipeline
			data     string
			to       *actortest.Probe // nil: dropped
			reason   string
		}{
			{"roll call on a topic", topic, rollCall, worker, ""},
			{"install direct", direct, `{"cid":"bafy","type":"MsgInstallFunction"}`, installer, ""},
			{"roll call direct is not allowed", direct, rollCall, nil, actors.DropPipeline},
			{"execute response is not for workers", direct, `{"cluster":{},"type":"MsgExecuteResponse"}`, nil, actors.DropRole},
			{"malformed on a topic", topic, `{"type":`, nil, actors.DropMalformed},
			{"malformed direct", direct, `not json at all`, nil, actors.DropMalformed},
			{"unknown type on a topic", topic, `{"type":"MsgTeleport"}`, nil, actors.DropUnknownType},
			{"unknown type direct", direct, `{"type":"MsgTeleport"}`, nil, actors.DropUnknownType},
			{"no type", direct, `{"cid":"x"}`, nil, actors.DropUnknownType},
			{"oversized on a topic", topic, `{"cid":"` + string(bytes.Repeat([]byte("a"), 600)) + `","type":"MsgInstallFunction"}`, nil, actors.DropTooLarge},
			{"oversized direct", direct, `{"cid":"` + string(bytes.Repeat([]byte("a"), 600)) + `","type":"MsgInstallFunction"}`, nil, actors.DropTooLarge},
			{"invalid: install without cid", direct, `{"type":"MsgInstallFunction"}`, nil, actors.DropInvalid},
			{"wrong field type", direct, `{"cid":7,"type":"MsgInstallFunction"}`, nil, actors.DropMalformed},
			{"form cluster has no owner here", direct, `{"request_id":"r","type":"MsgDisbandCluster"}`, nil, actors.DropNoOwner},
		}
		for _, c := range cases {
			before := testutil.ToFloat64(metrics.MessagesDropped.WithLabelValues(c.pipeline.String(), c.reason))
			sys.Send(router, &actors.Inbound{Pipeline: c.pipeline, From: testPeer, Author: testPeer, Data: []byte(c.data)})
			if c.to != nil {
				d := actortest.Expect[*actors.Delivery](t, c.to, time.Second)
				if d.From != testPeer || d.Pipeline != c.pipeline {
					t.Errorf("%s: delivery %+v", c.name, d)
				}
				continue
			}
			synctest.Wait() // the router is idle: whatever it did with the message is done
			if got := testutil.ToFloat64(metrics.MessagesDropped.WithLabelValues(c.pipeline.String(), c.reason)); got != before+1 {
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
		owner := sys.NewProbe(t, "installer")
		metrics := actors.NewMetrics(nil)
		// A parent with the node's strategy, so the restart goes through our supervisor.
		router := actor.NewPID(sys.Address(), "node/router")
		sys.Spawn(t, "node", "node", func() actor.Actor {
			return actor.ReceiveFunc(func(ctx actor.Context) {
				if _, ok := ctx.Message().(*actor.Started); ok {
					_, _ = ctx.SpawnNamed(sys.Registry.Props("router", actors.NewRouter(actors.RouterConfig{
						Role: actors.RoleWorker, Owners: map[string]*actor.PID{messages.TypeInstallFunction: owner.PID},
						Metrics: metrics, Log: sys.Log,
					})), "router")
				}
			})
		}, actor.WithSupervisor(actors.NewOneForOneBackoff(actors.DefaultBackoff())))
		sys.WaitActor(t, "node/router", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)

		sys.Send(router, inspect.Crash("injected"))
		sys.WaitActor(t, "node/router", func(a inspect.ActorInfo) bool {
			return a.Restarts == 1 && a.State == inspect.StateRunning
		}, 5*time.Second)
		sys.Send(router, &actors.Inbound{Pipeline: actors.Pipeline{Direct: true}, From: testPeer, Author: testPeer,
			Data: []byte(`{"cid":"bafy","type":"MsgInstallFunction"}`)})
		d := actortest.Expect[*actors.Delivery](t, owner, time.Second)
		if m, ok := d.Message.(messages.MsgInstallFunction); !ok || m.CID != "bafy" {
			t.Fatalf("delivered %#v", d.Message)
		}
	})
}
