package inspect

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/internal/check"
)

// Config bounds what the registry keeps beyond the live tree.
type Config struct {
	// RecentMessages is the length of each actor's ring of the messages it last handled (and
	// sent, see Note). 0 keeps none: the middleware then costs one branch per message.
	RecentMessages int
	// RetiredActors is how many stopped actors' rings are kept, newest first out last, so that
	// the path of a finished request (whose actors are gone) can still be read.
	RetiredActors int
}

// Bounds of Config: a ring is read whole by every inspector, so it stays small.
const (
	MaxRecentMessages = 4096
	MaxRetiredActors  = 100_000
)

// DefaultConfig keeps no recent messages: inspection then costs what the tree alone costs.
func DefaultConfig() Config { return Config{RecentMessages: 0, RetiredActors: 256} }

// Validate reports every setting out of bounds.
func (c Config) Validate() error {
	return errors.Join(
		check.Range("RecentMessages", c.RecentMessages, 0, MaxRecentMessages),
		check.Range("RetiredActors", c.RetiredActors, 0, MaxRetiredActors),
	)
}

// Label names a message for the rings: what people should read instead of a Go type.
type Label struct {
	Type    string  // a wire message type, or what the message means to the actor
	Request string  // the request the message belongs to, if any
	Peer    peer.ID // the node it came from (for a sent message: the node it goes to)
	Detail  string  // more, e.g. a response code or a topic
}

// Describer labels a message an actor handled. It runs on the actor's goroutine after the
// actor's Receive returned, so it may read what the actor noted about the message (the router
// notes the type and request of the raw bytes it decoded). It runs only when rings are kept.
type Describer func(a actor.Actor, msg any) Label

// Directions of a Record.
const (
	DirIn   = "in"   // a message the actor handled
	DirOut  = "out"  // a message the actor sent to another node (or handed to the executor)
	DirLife = "life" // started, restarting, stopped
)

// Record is one entry of an actor's ring, as the inspection endpoints show it.
type Record struct {
	At      time.Time `json:"at"`
	Dir     string    `json:"dir"`
	Type    string    `json:"type"`
	Request string    `json:"request,omitempty"`
	// Sender is the actor that sent the message, when one did.
	Sender string `json:"sender,omitempty"`
	// Peer is the node the message came from, or for DirOut the node it went to.
	Peer   string `json:"peer,omitempty"`
	Detail string `json:"detail,omitempty"`
	// TookNS is how long the actor took to handle it (0 for DirOut and DirLife).
	TookNS int64 `json:"took_ns"`
}

// record is a Record as the ring stores it: nothing is formatted until someone reads it.
type record struct {
	at, took int64  // unix nanos, nanos
	seq      uint64 // registry-wide order, for records of one clock tick
	dir      string
	label    Label
	sender   string
}

func (r record) export() Record {
	out := Record{At: time.Unix(0, r.at).UTC(), Dir: r.dir, Type: r.label.Type, Request: r.label.Request,
		Sender: r.sender, Detail: r.label.Detail, TookNS: r.took}
	if r.label.Peer != "" {
		out.Peer = r.label.Peer.String()
	}
	return out
}

// ring holds an actor's last records. The actor's goroutine writes, inspectors read; the lock
// is uncontended but for the moment someone looks.
type ring struct {
	mu   sync.Mutex
	buf  []record
	next int // records ever written; the oldest kept is next-len(buf)
}

func newRing(n int) *ring { return &ring{buf: make([]record, n)} }

func (r *ring) add(rec record) {
	r.mu.Lock()
	r.buf[r.next%len(r.buf)] = rec
	r.next++
	r.mu.Unlock()
}

// records returns the kept records, oldest first.
func (r *ring) records() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(r.next, len(r.buf))
	out := make([]record, 0, n)
	for i := r.next - n; i < r.next; i++ {
		out = append(out, r.buf[i%len(r.buf)])
	}
	return out
}

// retiredActor is a stopped actor whose ring is kept for traces.
type retiredActor struct {
	id, name, kind string
	ring           *ring
}

// Recording says whether the registry keeps recent messages, so callers of Note can skip
// building a label.
func (r *Registry) Recording() bool { return r.cfg.RecentMessages > 0 }

// Note records in the ring of the live actor pid a message it sent to another node, or work
// it handed off (DirOut). It does nothing when no rings are kept.
func (r *Registry) Note(pid *actor.PID, label Label) {
	if !r.Recording() || pid == nil {
		return
	}
	r.mu.RLock()
	e := r.entries[pid.Id]
	r.mu.RUnlock()
	if e != nil && e.ring != nil {
		e.ring.add(record{at: r.now().UnixNano(), seq: r.seq.Add(1), dir: DirOut, label: label})
	}
}

// Recent returns the ring of the actor with the given ID, live or retired, oldest first.
func (r *Registry) Recent(id string) ([]Record, bool) {
	r.mu.RLock()
	var rg *ring
	if e, ok := r.entries[id]; ok {
		rg = e.ring
	} else {
		// Newest first: an ID can be retired twice (a restarted node's actors).
		for i := range r.retired {
			a := r.retired[(r.retiredNext+len(r.retired)-1-i)%len(r.retired)]
			if a.id == id {
				rg = a.ring
				break
			}
		}
	}
	r.mu.RUnlock()
	if rg == nil {
		_, live := r.Find(id)
		return nil, live
	}
	recs := rg.records()
	out := make([]Record, len(recs))
	for i, rec := range recs {
		out[i] = rec.export()
	}
	return out, true
}

// Step is one record of a request's path: which actor, and what it handled or sent.
type Step struct {
	Actor string `json:"actor"`
	Kind  string `json:"kind"`
	Record
	seq uint64
}

// Trace returns the path of a request through this node: every kept record that names the
// request, and every record of the actors named by it (the per-request actors, live or
// retired), in time order.
func (r *Registry) Trace(requestID string) []Step {
	if requestID == "" {
		return nil
	}
	type source struct {
		id, name, kind string
		ring           *ring
	}
	r.mu.RLock()
	sources := make([]source, 0, len(r.entries)+len(r.retired))
	for _, e := range r.entries {
		if e.ring != nil {
			sources = append(sources, source{e.id, e.name, e.kind, e.ring})
		}
	}
	for _, a := range r.retired {
		sources = append(sources, source{a.id, a.name, a.kind, a.ring})
	}
	r.mu.RUnlock()
	var steps []Step
	for _, s := range sources {
		own := s.name == requestID
		for _, rec := range s.ring.records() {
			if own || rec.label.Request == requestID {
				steps = append(steps, Step{Actor: s.id, Kind: s.kind, Record: rec.export(), seq: rec.seq})
			}
		}
	}
	sort.Slice(steps, func(i, j int) bool {
		if !steps[i].At.Equal(steps[j].At) {
			return steps[i].At.Before(steps[j].At)
		}
		return steps[i].seq < steps[j].seq
	})
	return steps
}

// Peers returns the nodes a path names, in order of first appearance, without self.
func Peers(steps []Step, self string) []string {
	var out []string
	for _, s := range steps {
		if s.Peer != "" && s.Peer != self && !slices.Contains(out, s.Peer) {
			out = append(out, s.Peer)
		}
	}
	return out
}

// retire keeps a stopped actor's ring for traces, replacing the oldest beyond the bound.
// Called with r.mu held.
func (r *Registry) retire(e *entry) {
	if e.ring == nil || r.cfg.RetiredActors == 0 {
		return
	}
	a := retiredActor{id: e.id, name: e.name, kind: e.kind, ring: e.ring}
	if len(r.retired) < r.cfg.RetiredActors {
		r.retired = append(r.retired, a)
		return
	}
	r.retired[r.retiredNext] = a
	r.retiredNext = (r.retiredNext + 1) % len(r.retired)
}

// typeLabel names a message by its Go type, for messages a Describer does not know.
func typeLabel(_ actor.Actor, msg any) Label {
	if msg == nil {
		return Label{Type: "nil"}
	}
	return Label{Type: reflect.TypeOf(msg).String()}
}
