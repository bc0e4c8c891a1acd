package raft

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/internal/check"
	"github.com/b7s-actor/b7s/messages"
)

// Config is the timing of a replica. The original uses hashicorp's defaults with 300 ms
// heartbeat and election timeouts, and every request waits for a first election that starts
// only when those run out; here the first peer starts it at once (see Start), so these
// timeouts only decide how fast a lost leader is replaced and can stay safe under load.
type Config struct {
	// HeartbeatTimeout: a follower that hears no leader for this long (randomised up to twice
	// it) starts an election. The leader sends heartbeats ten times as often.
	HeartbeatTimeout time.Duration
	// ElectionTimeout: a candidate that wins no election in this long tries again.
	ElectionTimeout time.Duration
	// LeaderLeaseTimeout: a leader that hears from no quorum for this long steps down. At most
	// HeartbeatTimeout.
	LeaderLeaseTimeout time.Duration
	// CommitTimeout: how often (randomised up to twice it) the leader tells followers its
	// commit index when nothing else is sent. A follower runs a request only once it learns the
	// request is committed, so this bounds the followers' lag (hashicorp's default, 50 ms, would
	// add that much to every request).
	CommitTimeout time.Duration
	// IOTimeout bounds one RPC's reads and writes (the original: 1 min).
	IOTimeout time.Duration
}

// DefaultConfig is the original's heartbeat, election and lease timeouts, with a 5 ms commit
// timeout and a 10 s I/O timeout.
func DefaultConfig() Config {
	return Config{
		HeartbeatTimeout:   300 * time.Millisecond,
		ElectionTimeout:    300 * time.Millisecond,
		LeaderLeaseTimeout: 200 * time.Millisecond,
		CommitTimeout:      5 * time.Millisecond,
		IOTimeout:          10 * time.Second,
	}
}

// Validate reports every setting hashicorp/raft would refuse, with the setting's name.
func (c Config) Validate() error {
	errs := []error{
		check.Min("HeartbeatTimeout", c.HeartbeatTimeout, 5*time.Millisecond),
		check.Min("ElectionTimeout", c.ElectionTimeout, 5*time.Millisecond),
		check.Min("LeaderLeaseTimeout", c.LeaderLeaseTimeout, 5*time.Millisecond),
		check.Min("CommitTimeout", c.CommitTimeout, time.Millisecond),
		check.Min("IOTimeout", c.IOTimeout, 10*time.Millisecond),
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("ElectionTimeout (%v) must be at least HeartbeatTimeout (%v)", c.ElectionTimeout, c.HeartbeatTimeout))
	}
	if c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		errs = append(errs, fmt.Errorf("LeaderLeaseTimeout (%v) must be at most HeartbeatTimeout (%v)", c.LeaderLeaseTimeout, c.HeartbeatTimeout))
	}
	return errors.Join(errs...)
}

// LogEntry is what a leader appends for a request: spec §5's FSMLogEntry. `execute` is always
// written, as the original's struct with omitempty is.
type LogEntry struct {
	RequestID string           `json:"request_id,omitempty"`
	Origin    peer.ID          `json:"origin,omitempty"`
	Execute   messages.Request `json:"execute"`
}

// Leadership is a change of leader seen by a replica.
type Leadership struct {
	Leader peer.ID // "" while there is none
	Term   uint64
}

// Events are a replica's callbacks. They run on the replica's goroutines and must not block.
type Events struct {
	// Applied gets each committed entry of the cluster's request, once (a second entry for the
	// same request, appended by a later leader, is not passed on).
	Applied func(LogEntry)
	// Leader gets each change of leader.
	Leader func(Leadership)
}

// Replica is one node's member of one request's Raft cluster, with in-memory stores: a
// cluster lives for one request, and a replica that restarts has lost the request anyway.
type Replica struct {
	raft     *hraft.Raft
	trans    *hraft.NetworkTransport
	layer    *StreamLayer
	observer *hraft.Observer
	stop     chan struct{}
	wg       sync.WaitGroup
	shutdown sync.Once
	err      error
}

// Start creates this node's replica of the cluster of requestID, whose replicas are peers (this
// node among them), and bootstraps it as every replica does. The first of peers starts the
// first election at once instead of after a heartbeat timeout, so a cluster of our nodes has a
// leader within a few round trips.
func Start(cfg Config, mux *Mux, requestID string, peers []peer.ID, ev Events, log zerolog.Logger) (*Replica, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("raft config: %w", err)
	}
	self := mux.Host().ID()
	if len(peers) == 0 {
		return nil, errors.New("no peers")
	}
	servers := make([]hraft.Server, 0, len(peers))
	seen := make(map[peer.ID]bool, len(peers))
	for _, p := range peers {
		if seen[p] {
			return nil, fmt.Errorf("peer %s listed twice", p)
		}
		seen[p] = true
		servers = append(servers, hraft.Server{Suffrage: hraft.Voter, ID: hraft.ServerID(p.String()), Address: hraft.ServerAddress(p.String())})
	}
	if !seen[self] {
		return nil, fmt.Errorf("this node (%s) is not among the peers", self)
	}
	layer, err := mux.Listen(requestID, peers)
	if err != nil {
		return nil, err
	}
	hlog := newHCLog(log)
	trans := hraft.NewNetworkTransportWithConfig(&hraft.NetworkTransportConfig{
		ServerAddressProvider: addressProvider{},
		Logger:                hlog,
		Stream:                layer,
		MaxPool:               2, // our own choice: the far side reads any number of RPCs per stream
		// No pipelining: a cluster replicates one entry, and a pipeline is one more stream per
		// peer, with hashicorp's 256 KiB buffers at both ends.
		MaxRPCsInFlight: 1,
		Timeout:         cfg.IOTimeout,
	})
	first := peers[0] == self
	conf := hraft.DefaultConfig()
	conf.LocalID = hraft.ServerID(self.String())
	conf.HeartbeatTimeout = cfg.HeartbeatTimeout
	conf.ElectionTimeout = cfg.ElectionTimeout
	conf.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	conf.CommitTimeout = cfg.CommitTimeout
	conf.Logger = hlog
	conf.NoSnapshotRestoreOnStart = true
	if first {
		// Lowered to cfg's below, which makes the follower loop check for a leader at once.
		conf.HeartbeatTimeout += time.Millisecond
		conf.ElectionTimeout = max(conf.ElectionTimeout, conf.HeartbeatTimeout)
	}
	store := hraft.NewInmemStore()
	f := &fsm{requestID: requestID, applied: ev.Applied, log: log}
	r, err := hraft.NewRaft(conf, f, store, store, hraft.NewDiscardSnapshotStore(), trans)
	if err != nil {
		_ = trans.Close()
		_ = layer.Close()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	rep := &Replica{raft: r, trans: trans, layer: layer, stop: make(chan struct{})}
	obs := make(chan hraft.Observation, 16)
	rep.observer = hraft.NewObserver(obs, false, func(o *hraft.Observation) bool {
		_, ok := o.Data.(hraft.LeaderObservation)
		return ok
	})
	r.RegisterObserver(rep.observer)
	rep.wg.Add(1)
	go rep.observe(obs, ev.Leader)

	err = r.BootstrapCluster(hraft.Configuration{Servers: servers}).Error()
	if err != nil && !errors.Is(err, hraft.ErrCantBootstrap) {
		_ = rep.Shutdown()
		return nil, fmt.Errorf("bootstrap raft: %w", err)
	}
	if first {
		rc := r.ReloadableConfig()
		rc.HeartbeatTimeout, rc.ElectionTimeout = cfg.HeartbeatTimeout, cfg.ElectionTimeout
		if err := r.ReloadConfig(rc); err != nil {
			_ = rep.Shutdown()
			return nil, fmt.Errorf("start the first election: %w", err)
		}
	}
	return rep, nil
}

// observe passes leader changes on until Shutdown.
func (r *Replica) observe(obs <-chan hraft.Observation, leader func(Leadership)) {
	defer r.wg.Done()
	for {
		select {
		case o := <-obs:
			lo := o.Data.(hraft.LeaderObservation)
			l := Leadership{Term: r.raft.CurrentTerm()}
			if lo.LeaderID != "" {
				id, err := peer.Decode(string(lo.LeaderID))
				if err != nil {
					continue
				}
				l.Leader = id
			}
			if leader != nil {
				leader(l)
			}
		case <-r.stop:
			return
		}
	}
}

// Apply appends e as the leader and waits until it is committed and applied here, at most
// timeout. It fails with hraft.ErrNotLeader on a follower.
func (r *Replica) Apply(e LogEntry, timeout time.Duration) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode log entry: %w", err)
	}
	return r.raft.Apply(data, timeout).Error()
}

// IsLeader says whether this replica leads now.
func (r *Replica) IsLeader() bool { return r.raft.State() == hraft.Leader }

// State is the replica's Raft state ("Follower", "Candidate", "Leader", "Shutdown") and term.
func (r *Replica) State() (string, uint64) { return r.raft.State().String(), r.raft.CurrentTerm() }

// Shutdown stops the replica and waits for its goroutines; it closes the cluster's streams.
// It is safe to call more than once.
func (r *Replica) Shutdown() error {
	r.shutdown.Do(func() {
		r.raft.DeregisterObserver(r.observer)
		r.err = r.raft.Shutdown().Error()
		_ = r.layer.Close()
		// Closing the transport leaves its pooled connections (and their 256 KiB buffers) in
		// its pool; release them in case something still holds the replica.
		r.trans.CloseStreams()
		close(r.stop)
		r.wg.Wait()
	})
	return r.err
}

// fsm runs nothing itself: it hands each committed entry of its request to Applied, once.
type fsm struct {
	requestID string
	applied   func(LogEntry)
	log       zerolog.Logger
	done      bool // the request's entry was applied
}

func (f *fsm) Apply(l *hraft.Log) any {
	if l.Type != hraft.LogCommand {
		return nil
	}
	var e LogEntry
	if err := json.Unmarshal(l.Data, &e); err != nil {
		f.log.Warn().Err(err).Uint64("index", l.Index).Msg("raft log entry is not an FSMLogEntry: skipped")
		return err
	}
	if e.RequestID != f.requestID {
		f.log.Warn().Str("entry_request", e.RequestID).Uint64("index", l.Index).Msg("raft log entry for another request: skipped")
		return fmt.Errorf("entry for request %q in the cluster of %q", e.RequestID, f.requestID)
	}
	if f.done {
		return nil // a later leader appended it again: each replica runs a request once
	}
	f.done = true
	if f.applied != nil {
		f.applied(e)
	}
	return nil
}

// Snapshot and Restore keep nothing: snapshots go to a discard store, and a cluster never
// lives long enough to take one (hashicorp's threshold is 8,192 entries).
func (f *fsm) Snapshot() (hraft.FSMSnapshot, error) { return emptySnapshot{}, nil }

func (f *fsm) Restore(rc io.ReadCloser) error {
	_, err := io.Copy(io.Discard, rc)
	return errors.Join(err, rc.Close())
}

type emptySnapshot struct{}

func (emptySnapshot) Persist(sink hraft.SnapshotSink) error { return sink.Close() }
func (emptySnapshot) Release()                              {}
