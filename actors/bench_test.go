package actors

import (
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// BenchmarkRollCallThroughListenerRouterOwner measures inbound MsgRollCall handling inside one
// node: topic listener actor -> router (type check, rules, full decode, validation) -> owner,
// with the inspection middleware on every actor, as in a running node, without and with rings
// of recent messages. libp2p is not involved: the host is the tests' fake.
func BenchmarkRollCallThroughListenerRouterOwner(b *testing.B) {
	for _, c := range []struct {
		name   string
		recent int
	}{{"rings=off", 0}, {"rings=32", 32}} {
		b.Run(c.name, func(b *testing.B) { benchRollCallThroughListenerRouterOwner(b, c.recent) })
	}
}

func benchRollCallThroughListenerRouterOwner(b *testing.B, recent int) {
	host := newFakeHost(newPeerID())
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return newSlogLogger(zerolog.Nop())
	}))
	defer sys.Shutdown()
	cfg := inspect.DefaultConfig()
	cfg.RecentMessages = recent
	reg := inspect.NewRegistry(cfg, describe)
	root := reg.Root(sys)
	metrics := newMetrics(nil)
	received := make(chan struct{}, 1024)
	owner, _ := root.SpawnNamed(reg.Props("work", func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*delivery); ok {
				received <- struct{}{}
			}
		})
	}), "work")
	router, _ := root.SpawnNamed(reg.Props("router", newRouter(routerConfig{
		Role: RoleWorker, Owners: map[string]*actor.PID{messages.TypeRollCall: owner}, Metrics: metrics, Log: zerolog.Nop(),
		Recording: reg.Recording(),
	})), "router")
	listener, _ := root.SpawnNamed(reg.Props("topic-listener", newTopicListener(topicListenerConfig{
		Host: host, Topic: p2p.DefaultTopic, InFlight: 1024, Router: router, Metrics: metrics, Log: zerolog.Nop(),
	})), "topics/"+p2p.DefaultTopic)

	data := []byte(`{"origin":"12D3KooWH9GerdSEroL2nqjpd2GuE5dwmqNi7uHX7FoywBdKcP4q","function_id":"bafybeia24v4czavtpjv2co3j54o4a5ztduqcpyyinerjgncx7s2s22s7ea","request_id":"b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c","consensus":0,"type":"MsgRollCall"}`)
	from := host.ID()
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			root.Send(listener, &inbound{Pipeline: pipeline{Topic: p2p.DefaultTopic}, From: from, Author: from, Data: data})
		}
	}()
	for range b.N {
		<-received
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
