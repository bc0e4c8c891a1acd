package p2p

import (
	"bytes"
	"errors"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

func TestTrace_QuestionAndAnswer(t *testing.T) {
	a := newTestHost(t, nil, nil, testConfig(t))
	asked := make(chan string, 1)
	a.SetTraceHandler(func(from peer.ID, id string) []byte {
		asked <- from.String() + " " + id
		return []byte(`{"request":"` + id + `"}`)
	})
	b := newTestHost(t, nil, nil, testConfig(t))
	b.AddAddrs(addrInfo(a), peerstore.TempAddrTTL)
	ctx := testContext(t)

	answer, err := b.QueryTrace(ctx, a.ID(), "r-42")
	if err != nil {
		t.Fatal(err)
	}
	if string(answer) != `{"request":"r-42"}` {
		t.Fatalf("answer %q", answer)
	}
	if got := <-asked; got != b.ID().String()+" r-42" {
		t.Fatalf("the handler saw %q", got)
	}

	// An answer over the bound is refused, not read whole.
	a.SetTraceHandler(func(peer.ID, string) []byte { return bytes.Repeat([]byte("x"), MaxTraceAnswer+1) })
	if _, err := b.QueryTrace(ctx, a.ID(), "r-43"); err == nil {
		t.Fatal("an answer over the bound was accepted")
	}
}

// A node that does not speak the protocol (an original b7s node) is reported as such.
func TestTrace_APeerWithoutTheProtocol(t *testing.T) {
	a := newTestHost(t, nil, nil, testConfig(t))
	b := newTestHost(t, nil, nil, testConfig(t))
	b.AddAddrs(addrInfo(a), peerstore.TempAddrTTL)
	_, err := b.QueryTrace(testContext(t), a.ID(), "r-1")
	if !errors.Is(err, ErrTraceNotSupported) {
		t.Fatalf("err = %v, want ErrTraceNotSupported", err)
	}
}
