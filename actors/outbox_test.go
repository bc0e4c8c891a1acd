package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/messages"
)

// unreachableHost fails every send and publish, as a host whose peer went away does.
type unreachableHost struct{ *fakeHost }

var errUnreachable = errors.New("peer unreachable")

func (unreachableHost) Send(context.Context, peer.ID, []byte) error   { return errUnreachable }
func (unreachableHost) Publish(context.Context, string, []byte) error { return errUnreachable }

// A failed send is logged with what an operator searches by: the request, the peer, the type.
func TestOutbox_FailedSendIsLoggedWithItsRequestAndPeer(t *testing.T) {
	var logs bytes.Buffer
	o := newOutbox(unreachableHost{newFakeHost(self)}, time.Second, newMetrics(nil), zerolog.New(&logs))
	done := make(chan error, 1)
	o.send(head, messages.MsgExecuteResponse{RequestID: "r-1", Code: messages.CodeOK}, func(err error) { done <- err })
	select {
	case err := <-done:
		if !errors.Is(err, errUnreachable) {
			t.Fatalf("send finished with %v, want %v", err, errUnreachable)
		}
	case <-time.After(time.Minute):
		t.Fatal("send never finished")
	}
	o.drain(time.Second)
	var line struct{ Request, Peer, Type, Error string }
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line.Request != "r-1" || line.Peer != head.String() || line.Type != messages.TypeExecuteResponse || line.Error == "" {
		t.Fatalf("log line %+v: want request r-1, peer %s, type %s and the error", line, head, messages.TypeExecuteResponse)
	}
}
