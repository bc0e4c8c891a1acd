package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// A client that is not a node at all sends MsgExecute straight to the head, as b7s clients may,
// and gets MsgExecuteResponse back with its own request_id (spec §4.2).
func TestDirectExecute_HeadAnswersTheClientWithItsRequestID(t *testing.T) {
	net := guestNetwork(t, 1, nil)
	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := p2p.DefaultConfig()
	cfg.Address = "127.0.0.1"
	cfg.DisableDiscovery = true
	cfg.BootNodes = []string{net.Head.Host.Addresses()[0]}
	client, err := p2p.New(key, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	replies := make(chan []byte, 1)
	client.SetDirectHandler(func(from peer.ID, data []byte) {
		if from == net.Head.Host.ID() {
			replies <- data
		}
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := client.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req := messages.MsgExecute{Request: guestRequest(1).Request(), RequestID: "client-chosen-id"}
	data, err := messages.Encode(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Send(ctx, net.Head.Host.ID(), data); err != nil {
		t.Fatal(err)
	}
	select {
	case raw := <-replies:
		m, err := messages.Decode(raw, 0)
		if err != nil {
			t.Fatalf("decode reply %s: %v", raw, err)
		}
		resp, ok := m.(messages.MsgExecuteResponse)
		if !ok || resp.RequestID != "client-chosen-id" || resp.Code != messages.CodeOK {
			t.Fatalf("reply %s", raw)
		}
		if r := resp.Results[net.Workers[0].Host.ID()]; r.Result.Stdout != greeting {
			t.Fatalf("reply results %s", raw)
		}
	case <-ctx.Done():
		t.Fatal("no reply from the head")
	}
}
