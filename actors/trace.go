package actors

import (
	"reflect"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/messages"
)

// describe labels the messages of a node's actors for the inspection rings, so that a ring
// reads "MsgRollCall for request r from peer p" and a request's path can be assembled by its
// ID. The registry calls it on the actor's goroutine after the actor handled msg, and only when
// rings are kept.
func describe(a actor.Actor, msg any) inspect.Label {
	switch m := msg.(type) {
	case *inbound:
		if r, ok := a.(*router); ok {
			return r.last // the router read the type and request while routing
		}
		what := "inbound pubsub"
		if m.Pipeline.Direct {
			what = "inbound direct"
		}
		return inspect.Label{Type: what, Peer: m.Author, Detail: m.Pipeline.Topic}
	case *delivery:
		l := wireLabel(m.Message)
		l.Peer = m.From
		return l
	case *startRequest:
		l := inspect.Label{Type: "execute request", Request: m.RequestID, Peer: m.Client, Detail: "REST"}
		if m.Client != "" {
			l.Detail = "MsgExecute from a client"
		}
		return l
	case *cancelRequest:
		return inspect.Label{Type: "cancel", Request: m.RequestID, Detail: m.Reason}
	case requestTick:
		return inspect.Label{Type: "deadline"}
	case requestSendFailed:
		return inspect.Label{Type: "send failed", Peer: m.to, Detail: m.err.Error()}
	case executionDone:
		return inspect.Label{Type: "executor result", Detail: "code " + string(m.res.Code)}
	case *installRequest:
		return inspect.Label{Type: "install request", Detail: m.CID}
	case *installResult:
		l := inspect.Label{Type: "install result", Detail: m.CID}
		if m.Err != nil {
			l.Detail += ": " + m.Err.Error()
		}
		return l
	case *ready:
		return inspect.Label{Type: "ready"}
	}
	if msg == nil {
		return inspect.Label{Type: "nil"}
	}
	return inspect.Label{Type: reflect.TypeOf(msg).String()}
}

// wireLabel names a wire message: its type, its request and, for answers, its code.
func wireLabel(m messages.Message) inspect.Label {
	l := inspect.Label{Type: m.Type()}
	switch w := m.(type) {
	case messages.MsgRollCall:
		l.Request = w.RequestID
	case messages.MsgRollCallResponse:
		l.Request, l.Detail = w.RequestID, "code "+string(w.Code)
	case messages.MsgExecute:
		l.Request = w.RequestID
	case messages.MsgExecuteResponse:
		l.Request, l.Detail = w.RequestID, "code "+string(w.Code)
	case messages.MsgFormCluster:
		l.Request = w.RequestID
	case messages.MsgFormClusterResponse:
		l.Request, l.Detail = w.RequestID, "code "+string(w.Code)
	case messages.MsgDisbandCluster:
		l.Request = w.RequestID
	case messages.MsgInstallFunction:
		l.Detail = w.CID
	}
	return l
}

// noteSent records in self's ring that it sent msg to peer to (or published it on a topic,
// given as detail), so a request's path shows what left the node and when.
func (t *tree) noteSent(self *actor.PID, msg messages.Message, to peer.ID, detail string) {
	if !t.reg.Recording() {
		return
	}
	l := wireLabel(msg)
	l.Peer = to
	if detail != "" {
		if l.Detail != "" {
			l.Detail += "; "
		}
		l.Detail += detail
	}
	t.reg.Note(self, l)
}

// note records in self's ring work it handed off that is not a wire message (a run of the
// executor, the answer to a REST client).
func (t *tree) note(self *actor.PID, l inspect.Label) {
	if t.reg.Recording() {
		t.reg.Note(self, l)
	}
}
