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
	// StateFailed: its handling of a message panicked and its supervisor has not restarted
	// or stopped it yet; a restart may be waiting out its backoff, with the mailbox suspended.
	StateFailed = "failed"
)

// Registry records the life of every actor spawned with its Props. One per node: it is the
// only place that knows the whole tree, because protoactor cannot list a root's children.
type Registry struct {
	cfg      Config
	describe Describer
	mu       sync.RWMutex
	entries  map[string]*entry
	// retired are stopped actors whose rings are kept (a circular buffer; retiredNext is
	// the oldest once it is full).
	retired     []retiredActor
	retiredNext int
	seq         atomic.Uint64 // orders records (see record.seq)
	// pending holds what Props knows about an actor until its parent spawns it.
	pending map[*actor.Props]*pendingActor
	now     func() time.Time
}

// NewRegistry returns an empty registry that keeps what cfg says. describe labels messages in
// the rings; nil names them by their Go type.
func NewRegistry(cfg Config, describe Describer) *Registry {
	if describe == nil {
		describe = typeLabel
	}
	return &Registry{
		cfg:      cfg,
		describe: describe,
		entries:  make(map[string]*entry),
		pending:  make(map[*actor.Props]*pendingActor),
		now:      time.Now,
	}
}

type entry struct {
	id, name, kind, parent string
	mailbox                *mailboxProbe
	ring                   *ring // nil when no recent messages are kept

	// Written by the actor's own goroutine, read by inspectors: atomics, no lock.
	state     atomic.Value // string
	behaviour atomic.Value // string
	started   atomic.Int64 // unix nanos of the first start
	restarts  atomic.Int64
	handled   atomic.Int64
	lastError atomic.Value // string
	errorAt   atomic.Int64 // unix nanos of the last error
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
		if r.cfg.RecentMessages > 0 {
			e.ring = newRing(r.cfg.RecentMessages)
		}
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
			life := ""
			switch env.Message.(type) {
			case *actor.Started:
				e.started.CompareAndSwap(0, r.now().UnixNano())
				e.state.Store(StateRunning)
				life = "started"
			case *actor.Restarting:
				e.restarts.Add(1)
				e.state.Store(StateRestarting)
				life = "restarting"
			case *actor.Stopping:
				e.state.Store(StateStopping)
				life = "stopping"
			case *actor.Stopped:
				defer r.remove(e)
				life = "stopped"
			}
			if e.ring == nil {
				if life == "" {
					e.handled.Add(1)
				}
				// Without a ring the deferred call captures nothing that escapes: no allocation,
				// a few nanoseconds per message.
				defer r.recordPanic(e)
				next(ctx, env)
				return
			}
			r.receiveKept(e, ctx, env, life, next)
		}
	}
}

// recordPanic, deferred, records a panic of the actor's and passes it on to its supervisor.
func (r *Registry) recordPanic(e *entry) {
	if reason := recover(); reason != nil {
		r.failed(e, reason)
		panic(reason) // the supervisor decides; we only record
	}
}

// failed records that e's handling of a message panicked with reason.
func (r *Registry) failed(e *entry, reason any) {
	// protoactor's mailbox never reports a message whose handling panicked as received; count
	// it here, or the mailbox length stays one too long.
	e.mailbox.received.Add(1)
	e.lastError.Store(fmt.Sprint(reason))
	e.errorAt.Store(r.now().UnixNano())
	e.state.Store(StateFailed)
}

// receiveKept runs next and keeps the message in e's ring, with how long it took and how it
// ended.
func (r *Registry) receiveKept(e *entry, ctx actor.ReceiverContext, env *actor.MessageEnvelope, life string, next actor.ReceiverFunc) {
	start := r.now().UnixNano()
	defer func() {
		reason := recover()
		r.keep(e, ctx, env, life, start, reason)
		if reason != nil {
			r.failed(e, reason)
			panic(reason)
		}
	}()
	next(ctx, env)
}

// keep adds the message just handled to e's ring.
func (r *Registry) keep(e *entry, ctx actor.ReceiverContext, env *actor.MessageEnvelope, life string, start int64, panicked any) {
	rec := record{at: start, took: r.now().UnixNano() - start, seq: r.seq.Add(1), dir: DirIn}
	if life != "" {
		rec.dir, rec.label, rec.took = DirLife, Label{Type: life}, 0
	} else {
		rec.label = r.describe(ctx.Actor(), env.Message)
		if env.Sender != nil {
			rec.sender = env.Sender.Id
		}
	}
	if panicked != nil {
		rec.label.Detail = "panic: " + fmt.Sprint(panicked)
	}
	e.ring.add(rec)
	if life == "" {
		// Counted only once kept, so whoever waits for the count finds the message in the ring.
		e.handled.Add(1)
	}
}

// remove forgets e, unless its ID already names a newer actor.
func (r *Registry) remove(e *entry) {
	r.mu.Lock()
	if r.entries[e.id] == e {
		delete(r.entries, e.id)
		r.retire(e)
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
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Parent    string    `json:"parent,omitempty"`
	State     string    `json:"state"`
	Behaviour string    `json:"behaviour,omitempty"`
	Started   time.Time `json:"started"`
	Restarts  int64     `json:"restarts"`
	Messages  int64     `json:"messages"`
	Mailbox   int64     `json:"mailbox"`
	LastError string    `json:"last_error,omitempty"`
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time    `json:"last_error_at,omitzero"`
	Children    []*ActorInfo `json:"children,omitempty"`
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
	if ns := e.errorAt.Load(); ns != 0 {
		info.LastErrorAt = time.Unix(0, ns).UTC()
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
