package actors

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/messages"
)

// failingHost fails every send to one peer.
type failingHost struct {
	*fakeHost
	fails peer.ID
}

func (h failingHost) Send(ctx context.Context, to peer.ID, data []byte) error {
	if to == h.fails {
		return errors.New("unreachable")
	}
	return h.fakeHost.Send(ctx, to, data)
}

// sendEach sends every peer the message's line and tells each peer's outcome apart.
func TestOutbox_SendEachTellsEachPeersOutcome(t *testing.T) {
	worker1, worker2, worker3 := newPeerID(), newPeerID(), newPeerID()
	sys := actortest.NewSystem(t)
	host := failingHost{fakeHost: newFakeHost(head), fails: worker2}
	o := testOutbox(t, host, sys)
	msg := messages.MsgFormCluster{RequestID: "r1", Peers: []peer.ID{worker1, worker2, worker3}, Consensus: messages.ConsensusPBFT}
	want, err := messages.EncodeLine(msg)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := make(chan error, 3)
	byPeer := make(map[peer.ID]error)
	o.sendEach(msg.Peers, msg, func(p peer.ID, err error) {
		if err != nil {
			err = errors.Join(errors.New(p.String()), err)
		}
		outcomes <- err
	})
	var failed []error
	for range 3 {
		select {
		case err := <-outcomes:
			if err != nil {
				failed = append(failed, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("an outcome did not arrive")
		}
	}
	if len(failed) != 1 || !bytes.Contains([]byte(failed[0].Error()), []byte(worker2.String())) {
		t.Errorf("failures %v, want one, of %s", failed, worker2)
	}
	for range 2 {
		select {
		case m := <-host.sent:
			byPeer[m.to] = nil
			if !bytes.Equal(m.data, want) {
				t.Errorf("%s got %s, want %s", m.to, m.data, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a send did not arrive")
		}
	}
	_, got1 := byPeer[worker1]
	if _, got3 := byPeer[worker3]; !got1 || !got3 {
		t.Errorf("sent to %v, want %s and %s", byPeer, worker1, worker3)
	}
}
