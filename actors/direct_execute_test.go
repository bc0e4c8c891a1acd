package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// A client that is not a node at all sends MsgExecute straight to the head, as b7s clients may,
// and gets MsgExecuteResponse back with its own request_id (spec §4.2).
func TestDirectExecute_HeadAnswersTheClientWithItsRequestID(t *testing.T) {
	net := helloNetwork(t, 1, nil)
	client := newHost(t, net.Head.Host.Addresses()[0])
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
	req := messages.MsgExecute{Request: helloRequest(1).Request(), RequestID: "client-chosen-id"}
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
		if r := resp.Results[net.Workers[0].Host.ID()]; r.Result.Stdout != helloStdout {
			t.Fatalf("reply results %s", raw)
		}
	case <-ctx.Done():
		t.Fatal("no reply from the head")
	}
}
