package inspect

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Lifecycle states an actor passes through, as protoactor reports them.
const (
	StateStarting   = "starting"
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateStopping   = "stopping"
)

// Registry records the life of every actor spawned with its Props. One per node: it is the
// only place that knows the whole tree, because protoactor cannot list a root's children.
type Registry struct {
	mu      sync.RWMutex
	entries map[string]*entry
	// pending holds what Props knows about an actor until its parent spawns it.
	pending map[*actor.Props]*pendingActor
	now     func() time.Time
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		entries: make(map[string]*entry),
		pending: make(map[*actor.Props]*pendingActor),
		now:     time.Now,
	}
}

type entry struct {
	id, name, kind, parent string
	mailbox                *mailboxProbe

	// Written by the actor's own goroutine, read by inspectors: atomics, no lock.
	state     atomic.Value // string
	behaviour atomic.Value // string
	started   atomic.Int64 // unix nanos of the first start
	restarts  atomic.Int64
	handled   atomic.Int64
	lastError atomic.Value // string
}

type pendingActor struct {
	kind  string
	probe *mailboxProbe
	self  *atomic.Pointer[entry]
}

// Props builds props for an actor of the given kind with the inspection middleware attached.
// Each call returns fresh props: spawn them once, from a context that has the registry's spawn
// middleware (Root, or an actor itself spawned with these props). The inspection middleware is
// the outermost: a receiver middleware among opts runs inside it, so a panic it raises is
// recorded like one of the actor's own.
func (r *Registry) Props(kind string, producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	p := &pendingActor{kind: kind, probe: &mailboxProbe{}, self: &atomic.Pointer[entry]{}}
	opts = append([]actor.PropsOption{
		actor.WithMailbox(actor.Unbounded(p.probe)),
		// protoactor applies a context's spawn middleware to the children it spawns, so this
		// is what makes this actor's own children visible.
		actor.WithSpawnMiddleware(r.spawnMiddleware),
		actor.WithReceiverMiddleware(r.receiverMiddleware(p.self)),
	}, opts...)
	props := actor.PropsFromProducer(producer, opts...)
	r.mu.Lock()
	r.pending[props] = p
	r.mu.Unlock()
	return props
}

// Root returns a root context of system that registers the actors it spawns.
func (r *Registry) Root(system *actor.ActorSystem) *actor.RootContext {
	return system.Root.Copy().WithSpawnMiddleware(r.spawnMiddleware)
}

func (r *Registry) spawnMiddleware(next actor.SpawnFunc) actor.SpawnFunc {
	return func(system *actor.ActorSystem, id string, props *actor.Props, parent actor.SpawnerContext) (*actor.PID, error) {
		r.mu.Lock()
		p, ok := r.pending[props]
		delete(r.pending, props)
		r.mu.Unlock()
		if !ok {
			return next(system, id, props, parent)
		}
		e := &entry{id: id, kind: p.kind, mailbox: p.probe}
		if pp := parent.Self(); pp != nil {
			e.parent = pp.Id
		}
		e.name = strings.TrimPrefix(id, e.parent+"/")
		e.state.Store(StateStarting)
		e.behaviour.Store("")
		e.lastError.Store("")
		r.mu.Lock()
		if _, taken := r.entries[id]; taken {
			// The spawn will fail (the name exists); the live actor keeps its entry.
			r.mu.Unlock()
			return next(system, id, props, parent)
		}
		r.entries[id] = e
		r.mu.Unlock()
		p.self.Store(e)
		pid, err := next(system, id, props, parent)
		if err != nil {
			r.remove(e)
		}
		return pid, err
	}
}

func (r *Registry) receiverMiddleware(self *atomic.Pointer[entry]) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
			e := self.Load()
			if e == nil {
				next(ctx, env)
				return
			}
			switch env.Message.(type) {
			case *actor.Started:
				e.started.CompareAndSwap(0, r.now().UnixNano())
				e.state.Store(StateRunning)
			case *actor.Restarting:
				e.restarts.Add(1)
				e.state.Store(StateRestarting)
			case *actor.Stopping:
				e.state.Store(StateStopping)
			case *actor.Stopped:
				defer r.remove(e)
			default:
				e.handled.Add(1)
			}
			defer func() {
				if reason := recover(); reason != nil {
					e.lastError.Store(fmt.Sprint(reason))
					panic(reason) // the supervisor decides; we only record
				}
			}()
			next(ctx, env)
		}
	}
}

// remove forgets e, unless its ID already names a newer actor.
func (r *Registry) remove(e *entry) {
	r.mu.Lock()
	if r.entries[e.id] == e {
		delete(r.entries, e.id)
	}
	r.mu.Unlock()
}

// SetBehaviour records what an actor is doing now (e.g. the state of a per-request state
// machine), so the tree shows more than "running".
func (r *Registry) SetBehaviour(pid *actor.PID, behaviour string) {
	if pid == nil {
		return
	}
	r.mu.RLock()
	e := r.entries[pid.Id]
	r.mu.RUnlock()
	if e != nil {
		e.behaviour.Store(behaviour)
	}
}

// ActorInfo is one actor as the inspection endpoints show it.
type ActorInfo struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Kind      string       `json:"kind"`
	Parent    string       `json:"parent,omitempty"`
	State     string       `json:"state"`
	Behaviour string       `json:"behaviour,omitempty"`
	Started   time.Time    `json:"started"`
	Restarts  int64        `json:"restarts"`
	Messages  int64        `json:"messages"`
	Mailbox   int64        `json:"mailbox"`
	LastError string       `json:"last_error,omitempty"`
	Children  []*ActorInfo `json:"children,omitempty"`
}

// Snapshot returns every live actor, sorted by ID, without children filled in.
func (r *Registry) Snapshot() []ActorInfo {
	r.mu.RLock()
	out := make([]ActorInfo, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.info())
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (e *entry) info() ActorInfo {
	info := ActorInfo{
		ID:        e.id,
		Name:      e.name,
		Kind:      e.kind,
		Parent:    e.parent,
		State:     e.state.Load().(string),
		Behaviour: e.behaviour.Load().(string),
		Restarts:  e.restarts.Load(),
		Messages:  e.handled.Load(),
		Mailbox:   e.mailbox.length(),
		LastError: e.lastError.Load().(string),
	}
	if ns := e.started.Load(); ns != 0 {
		info.Started = time.Unix(0, ns).UTC()
	}
	return info
}

// Find returns the live actor with the given ID.
func (r *Registry) Find(id string) (ActorInfo, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.entries[id]
	if !ok {
		return ActorInfo{}, false
	}
	return e.info(), true
}

// Tree returns the live actors as a forest: roots are actors whose parent is not inspected.
func (r *Registry) Tree() []*ActorInfo {
	flat := r.Snapshot()
	byID := make(map[string]*ActorInfo, len(flat))
	for i := range flat {
		byID[flat[i].ID] = &flat[i]
	}
	var roots []*ActorInfo
	for i := range flat {
		a := &flat[i]
		if p, ok := byID[a.Parent]; ok {
			p.Children = append(p.Children, a)
			continue
		}
		roots = append(roots, a)
	}
	return roots
}

// mailboxProbe counts what entered and left one actor's mailbox.
type mailboxProbe struct{ posted, received atomic.Int64 }

func (m *mailboxProbe) MailboxStarted()             {}
func (m *mailboxProbe) MessagePosted(interface{})   { m.posted.Add(1) }
func (m *mailboxProbe) MessageReceived(interface{}) { m.received.Add(1) }
func (m *mailboxProbe) MailboxEmpty()               {}
func (m *mailboxProbe) length() int64 {
	n := m.posted.Load() - m.received.Load()
	if n < 0 {
		return 0
	}
	return n
}
