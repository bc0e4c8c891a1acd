package actors

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/attest"
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

	// The listener's pump feeds the router from the subscription; ready answers once it exists.
	if _, err := root.RequestFuture(listener, &ready{}, 10*time.Second).Result(); err != nil {
		b.Fatalf("listener not ready: %v", err)
	}

	data := []byte(`{"origin":"12D3KooWH9GerdSEroL2nqjpd2GuE5dwmqNi7uHX7FoywBdKcP4q","function_id":"bafybeia24v4czavtpjv2co3j54o4a5ztduqcpyyinerjgncx7s2s22s7ea","request_id":"b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c","consensus":0,"type":"MsgRollCall"}`)
	author := newPeerID()
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			host.deliverTopic(p2p.DefaultTopic, author, data)
		}
	}()
	for range b.N {
		<-received
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkWorkRollCall measures a worker's work actor answering roll calls: the checks
// (consensus, attributes against the attestation, admission), then the answer encoded and
// handed to the (fake) host. "no_attributes" is the common roll call, whose cost the attribute
// check must not change; "attributes_match" pays for the match; "attributes_mismatch" is the
// silent path (a matching roll call after them marks the end).
func BenchmarkWorkRollCall(b *testing.B) {
	attestorKey := newKey(b)
	loaded := attestation(b, []crypto.PrivKey{attestorKey}, "region", "eu", "tier", "gold", "cpu", "x86")
	match := &messages.Attributes{AttestationRequired: true, Values: []messages.Parameter{{Name: "region", Value: "eu"}},
		Attestors: messages.Attestors{Each: []peer.ID{idOf(b, attestorKey)}}}
	mismatch := &messages.Attributes{Values: []messages.Parameter{{Name: "region", Value: "us"}}}
	cases := []struct {
		name       string
		attributes *messages.Attributes
		silent     bool
	}{
		{"no_attributes", nil, false},
		{"attributes_match", match, false},
		{"attributes_mismatch", mismatch, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			host := newFakeHost(self)
			sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
				return newSlogLogger(zerolog.Nop())
			}))
			defer sys.Shutdown()
			reg := inspect.NewRegistry(inspect.DefaultConfig(), nil)
			root := reg.Root(sys)
			metrics := newMetrics(nil)
			holder := &attest.Holder{}
			holder.Set(loaded)
			w, _ := root.SpawnNamed(reg.Props("work", newWork(workConfig{
				Self: self, Concurrency: 10, QueueSize: 100, Attestation: holder, Runner: newGatedRunner(),
				Functions: installedFunctions{"fn": true}, Outbox: newOutbox(host, time.Second, metrics, zerolog.Nop()),
				Results: newResultCache(10), Tree: newTree(reg, nil, nil), Metrics: metrics, Log: zerolog.Nop(),
			})), "work")
			rollCall := func(a *messages.Attributes) *delivery {
				return &delivery{Pipeline: pipeline{Topic: p2p.DefaultTopic}, From: head, Author: head,
					Message: messages.MsgRollCall{Origin: head, FunctionID: "fn", RequestID: "r", Attributes: a}}
			}
			d, sentinel := rollCall(c.attributes), rollCall(nil)
			b.ReportAllocs()
			b.ResetTimer()
			go func() {
				for range b.N {
					root.Send(w, d)
				}
				if c.silent {
					root.Send(w, sentinel)
				}
			}()
			answers := b.N
			if c.silent {
				answers = 1
			}
			for range answers {
				<-host.sent
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rollcalls/s")
		})
	}
}
