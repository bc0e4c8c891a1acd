package actors_test

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// BenchmarkRollCallThroughListenerRouterOwner measures inbound MsgRollCall handling inside one
// node: topic listener actor -> router (type check, rules, full decode, validation) -> owner,
// with the inspection middleware on every actor, as in a running node. libp2p is not involved.
func BenchmarkRollCallThroughListenerRouterOwner(b *testing.B) {
	key, err := p2p.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	cfg := p2p.DefaultConfig()
	cfg.Address = "127.0.0.1"
	cfg.DisableDiscovery = true
	host, err := p2p.New(key, nil, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer host.Close()

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return actors.NewSlogLogger(zerolog.Nop())
	}))
	defer sys.Shutdown()
	reg := inspect.NewRegistry()
	root := reg.Root(sys)
	metrics := actors.NewMetrics(nil)
	received := make(chan struct{}, 1024)
	owner, _ := root.SpawnNamed(reg.Props("work", func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actors.Delivery); ok {
				received <- struct{}{}
			}
		})
	}), "work")
	router, _ := root.SpawnNamed(reg.Props("router", actors.NewRouter(actors.RouterConfig{
		Role: actors.RoleWorker, MaxMessageBytes: messages.DefaultMaxSize,
		Owners: map[string]*actor.PID{messages.TypeRollCall: owner}, Metrics: metrics, Log: zerolog.Nop(),
	})), "router")
	listener, _ := root.SpawnNamed(reg.Props("topic-listener", actors.NewTopicListener(actors.TopicListenerConfig{
		Host: host, Topic: p2p.DefaultTopic, InFlight: 1024, Router: router, Metrics: metrics, Log: zerolog.Nop(),
	})), "topics/"+p2p.DefaultTopic)

	data := []byte(`{"origin":"12D3KooWH9GerdSEroL2nqjpd2GuE5dwmqNi7uHX7FoywBdKcP4q","function_id":"bafybeia24v4czavtpjv2co3j54o4a5ztduqcpyyinerjgncx7s2s22s7ea","request_id":"b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c","consensus":0,"type":"MsgRollCall"}`)
	from := host.ID()
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			root.Send(listener, &actors.Inbound{Pipeline: actors.Pipeline{Topic: p2p.DefaultTopic}, From: from, Author: from, Data: data})
		}
	}()
	for range b.N {
		<-received
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkExecuteHelloInProcess runs hello.wasm through a real head and worker on 127.0.0.1
// in one process: roll call, execute, gather. It is the in-process twin of `make bench-e2e`.
func BenchmarkExecuteHelloInProcess(b *testing.B) {
	net := helloNetwork(b, 1, nil)
	req := helloRequest(1)
	ctx := context.Background()
	if _, err := net.Head.Node.Execute(ctx, req); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp, err := net.Head.Node.Execute(ctx, req)
		if err != nil || resp.Code != messages.CodeOK {
			b.Fatalf("execute: %v %+v", err, resp)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkExecuteHelloInProcessParallel is the throughput twin: 32 requests in flight.
func BenchmarkExecuteHelloInProcessParallel(b *testing.B) {
	net := helloNetwork(b, 2, nil)
	req := helloRequest(1)
	ctx := context.Background()
	if _, err := net.Head.Node.Execute(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16) // × GOMAXPROCS (2) = 32 clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := net.Head.Node.Execute(ctx, req)
			if err != nil || resp.Code != messages.CodeOK {
				b.Errorf("execute: %v %+v", err, resp)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
