package pbft

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/b7s-actor/b7s/internal/p2ptest"
)

type netEvent struct {
	from   peer.ID
	msg    Message
	reason string
}

// A cluster's endpoint takes one message per stream from its peers only, refuses what is too
// large or malformed, and, silenced, drops everything in and out.
func TestNet_DeliversFromPeersAndDropsTheRest(t *testing.T) {
	hosts := p2ptest.Connected(t, 3) // 0 listens; 1 is a replica; 2 is not
	events := make(chan netEvent, 16)
	var silent atomic.Bool
	peers := []peer.ID{hosts[0].ID(), hosts[1].ID()}
	cfg := NetConfig{SendTimeout: 5 * time.Second, MaxMessage: 512, Silent: silent.Load}
	dropEvent := func(from peer.ID, reason string, _ error) { events <- netEvent{from: from, reason: reason} }
	mux0 := NewMux(hosts[0], dropEvent)
	defer mux0.Close()
	n0, err := mux0.Listen("req-1", peers, cfg, func(from peer.ID, m Message) { events <- netEvent{from: from, msg: m} }, dropEvent)
	if err != nil {
		t.Fatal(err)
	}
	defer n0.Close()
	if _, err := mux0.Listen("req-1", peers, cfg, nil, nil); err == nil {
		t.Error("a second cluster of one request was accepted")
	}
	at1 := make(chan Message, 4)
	mux1 := NewMux(hosts[1], nil)
	defer mux1.Close()
	n1, err := mux1.Listen("req-1", peers, NetConfig{SendTimeout: 5 * time.Second, MaxMessage: 512},
		func(_ peer.ID, m Message) { at1 <- m }, func(peer.ID, string, error) {})
	if err != nil {
		t.Fatal(err)
	}
	defer n1.Close()

	next := func() netEvent {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("nothing arrived")
		}
		return netEvent{}
	}
	rawTo := func(from host.Host, request, data string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := from.NewStream(ctx, hosts[0].ID(), protocol.ID(ProtocolPrefix+request))
		if err != nil {
			return // refused after the protocol was agreed, as a stranger's is: the drop tells
		}
		_, _ = s.Write([]byte(data))
		_ = s.Close()
	}
	raw := func(from host.Host, data string) { t.Helper(); rawTo(from, "req-1", data) }

	n1.Broadcast(Prepare{View: 0, SequenceNumber: 1, Digest: "d", Signature: "s"}, func(_ peer.ID, err error) { t.Error(err) })
	if e := next(); e.from != hosts[1].ID() || e.msg.(Prepare).Digest != "d" {
		t.Fatalf("got %+v, want the prepare from the replica", e)
	}
	// Only the first line counts (spec §1.3).
	raw(hosts[1], `{"type":4,"data":{"view":0,"sequence_number":2,"digest":"c"}}`+"\n"+"garbage")
	if e := next(); e.msg.(Commit).SequenceNumber != 2 {
		t.Fatalf("got %+v, want the commit", e)
	}
	for _, c := range []struct {
		from   host.Host
		data   string
		reason string
	}{
		{hosts[2], `{"type":3,"data":{"view":0,"sequence_number":1,"digest":"d"}}`, DropNotInCluster},
		{hosts[1], `{"type":3,"data":`, DropMalformed},
		{hosts[1], `{"type":9,"data":{}}`, DropMalformed},
		{hosts[1], `{"type":3,"data":{"digest":"` + strings.Repeat("x", 600) + `"}}`, DropTooLarge},
	} {
		raw(c.from, c.data)
		if e := next(); e.reason != c.reason || e.from != c.from.ID() {
			t.Errorf("%s: got %+v, want dropped as %s", c.data[:min(len(c.data), 30)], e, c.reason)
		}
	}
	// A stream for a cluster this host does not have is dropped by the mux.
	rawTo(hosts[1], "req-2", `{"type":3,"data":{"view":0,"sequence_number":1,"digest":"d"}}`)
	if e := next(); e.reason != DropUnknownCluster || e.from != hosts[1].ID() {
		t.Errorf("unknown cluster: got %+v", e)
	}
	silent.Store(true)
	raw(hosts[1], `{"type":3,"data":{"view":0,"sequence_number":1,"digest":"d"}}`)
	if e := next(); e.reason != DropSilenced {
		t.Errorf("silenced: got %+v", e)
	}
	// A silenced replica sends nothing either: of two broadcasts, silenced then not, only the
	// second arrives.
	n0.Broadcast(Prepare{Digest: "quiet"}, nil)
	silent.Store(false)
	n0.Broadcast(Prepare{Digest: "loud"}, nil)
	select {
	case m := <-at1:
		if m.(Prepare).Digest != "loud" {
			t.Fatalf("the silenced broadcast arrived: %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the broadcast did not arrive")
	}
	n0.Close() // waits for its sends
	select {
	case m := <-at1:
		t.Fatalf("the silenced broadcast arrived: %+v", m)
	default:
	}
	// A closed cluster hears nothing more: its streams go to the mux as unknown.
	n1.Broadcast(Prepare{Digest: "late"}, nil)
	if e := next(); e.reason != DropUnknownCluster {
		t.Errorf("closed cluster: got %+v", e)
	}
}
