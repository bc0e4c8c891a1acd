package raft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/internal/p2ptest"
	"github.com/b7s-actor/b7s/messages"
)

// testTimeout bounds every wait here.
const testTimeout = 15 * time.Second

func ids(hosts []host.Host) []peer.ID {
	out := make([]peer.ID, len(hosts))
	for i, h := range hosts {
		out[i] = h.ID()
	}
	return out
}

// member is one replica under test and what it observed.
type member struct {
	rep     *Replica
	applied chan LogEntry
	mu      sync.Mutex
	leader  peer.ID
	changed chan struct{} // a token when leader changes
}

func startMember(t *testing.T, cfg Config, mux *Mux, requestID string, peers []peer.ID) *member {
	t.Helper()
	m := &member{applied: make(chan LogEntry, 4), changed: make(chan struct{}, 1)}
	rep, err := Start(cfg, mux, requestID, peers, Events{
		Applied: func(e LogEntry) { m.applied <- e },
		Leader: func(l Leadership) {
			m.mu.Lock()
			m.leader = l.Leader
			m.mu.Unlock()
			select {
			case m.changed <- struct{}{}:
			default:
			}
		},
	}, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatalf("start replica of %s: %v", requestID, err)
	}
	m.rep = rep
	t.Cleanup(func() { _ = rep.Shutdown() })
	return m
}

// waitLeader waits until m knows a leader other than not and returns it.
func waitLeader(t *testing.T, m *member, not ...peer.ID) peer.ID {
	t.Helper()
	l, ok := m.leaderWithin(testTimeout, not...)
	if !ok {
		t.Fatal("no leader")
	}
	return l
}

// leaderWithin is waitLeader for goroutines other than the test's.
func (m *member) leaderWithin(d time.Duration, not ...peer.ID) (peer.ID, bool) {
	deadline := time.After(d)
	for {
		m.mu.Lock()
		l := m.leader
		m.mu.Unlock()
		if l != "" && !slices.Contains(not, l) {
			return l, true
		}
		select {
		case <-m.changed:
		case <-deadline:
			return "", false
		}
	}
}

func waitApplied(t *testing.T, m *member) LogEntry {
	t.Helper()
	select {
	case e := <-m.applied:
		return e
	case <-time.After(testTimeout):
		t.Fatal("entry not applied")
	}
	return LogEntry{}
}

func entry(requestID string, origin peer.ID) LogEntry {
	stdin := "hi"
	return LogEntry{RequestID: requestID, Origin: origin,
		Execute: messages.Request{FunctionID: "fn", Method: "m.wasm", Config: messages.Config{Stdin: &stdin}}}
}

// applyOnLeader applies e on whichever member leads, retrying on a follower's ErrNotLeader.
func applyOnLeader(t *testing.T, members []*member, hosts []host.Host, e LogEntry) {
	t.Helper()
	leader := waitLeader(t, members[0])
	for i, h := range hosts {
		if h.ID() == leader {
			if err := members[i].rep.Apply(e, testTimeout); err != nil {
				t.Fatalf("apply on the leader: %v", err)
			}
			return
		}
	}
	t.Fatalf("leader %s is not a member", leader)
}

func TestCluster_FirstPeerLeadsAndEveryReplicaAppliesOnce(t *testing.T) {
	hosts := p2ptest.Connected(t, 3)
	muxes := make([]*Mux, 3)
	for i, h := range hosts {
		muxes[i] = NewMux(h)
	}
	peers := ids(hosts)
	cfg := DefaultConfig()
	start := time.Now()
	members := make([]*member, 3)
	for i := range members {
		members[i] = startMember(t, cfg, muxes[i], "req-1", peers)
	}
	leader := waitLeader(t, members[1])
	t.Logf("leader after %v", time.Since(start))
	if leader != peers[0] {
		// The first peer starts at once; anyone else waits a heartbeat timeout (300 ms).
		t.Errorf("leader is %s, want the first peer %s", leader, peers[0])
	}
	e := entry("req-1", peers[0])
	applyOnLeader(t, members, hosts, e)
	// A second entry for the same request (a later leader re-applying) is not passed on.
	applyOnLeader(t, members, hosts, e)
	for i, m := range members {
		got := waitApplied(t, m)
		if got.RequestID != "req-1" || got.Origin != peers[0] || *got.Execute.Config.Stdin != "hi" {
			t.Errorf("replica %d applied %+v", i, got)
		}
	}
	for i, m := range members {
		select {
		case e := <-m.applied:
			t.Errorf("replica %d applied a second entry: %+v", i, e)
		default:
		}
	}
}

// A peer that gets its MsgFormCluster late: the first peer's vote requests wait for its cluster
// instead of failing (parking), so the first election still wins at once.
func TestCluster_LateReplicaIsWaitedFor(t *testing.T) {
	hosts := p2ptest.Connected(t, 3)
	muxes := []*Mux{NewMux(hosts[0]), NewMux(hosts[1]), NewMux(hosts[2])}
	peers := ids(hosts)
	first := startMember(t, DefaultConfig(), muxes[0], "late", peers)
	// Nobody else exists yet; give the first peer's pre-vote time to reach the others.
	waitParked(t, muxes[1], "late")
	rest := []*member{startMember(t, DefaultConfig(), muxes[1], "late", peers), startMember(t, DefaultConfig(), muxes[2], "late", peers)}
	if got := waitLeader(t, rest[0]); got != peers[0] {
		t.Errorf("leader %s, want %s", got, peers[0])
	}
	if err := first.rep.Apply(entry("late", peers[0]), testTimeout); err != nil {
		t.Fatal(err)
	}
	for _, m := range append(rest, first) {
		waitApplied(t, m)
	}
}

// waitParked waits until mux holds a stream for a cluster it does not have yet.
func waitParked(t *testing.T, mux *Mux, requestID string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		mux.mu.Lock()
		n := len(mux.parked[requestID])
		mux.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing parked")
		}
		runtime.Gosched()
	}
}

// Many clusters on the same three nodes at once, each with its own protocol.
func TestCluster_ManyAtOnceOnTheSameNodes(t *testing.T) {
	hosts := p2ptest.Connected(t, 3)
	muxes := []*Mux{NewMux(hosts[0]), NewMux(hosts[1]), NewMux(hosts[2])}
	peers := ids(hosts)
	const clusters = 10
	var wg sync.WaitGroup
	errs := make(chan error, clusters)
	for c := range clusters {
		id := fmt.Sprintf("req-%d", c)
		// Rotate the first peer, as heads pick workers in answer order.
		order := []peer.ID{peers[c%3], peers[(c+1)%3], peers[(c+2)%3]}
		members := make([]*member, 3)
		for i := range members {
			members[i] = startMember(t, DefaultConfig(), muxes[i], id, order)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var leader peer.ID
			for _, m := range members {
				var ok bool
				if leader, ok = m.leaderWithin(testTimeout); !ok {
					errs <- fmt.Errorf("%s: no leader", id)
					return
				}
			}
			for i, h := range hosts {
				if h.ID() == leader {
					if err := members[i].rep.Apply(entry(id, peers[0]), testTimeout); err != nil {
						errs <- fmt.Errorf("%s: %w", id, err)
						return
					}
				}
			}
			for _, m := range members {
				select {
				case e := <-m.applied:
					if e.RequestID != id {
						errs <- fmt.Errorf("cluster %s applied %s", id, e.RequestID)
					}
				case <-time.After(testTimeout):
					errs <- fmt.Errorf("%s: not applied", id)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The leader goes away after the cluster formed: the others elect a new one and can still
// commit.
func TestCluster_LeaderLostNewLeaderCommits(t *testing.T) {
	hosts := p2ptest.Connected(t, 3)
	muxes := []*Mux{NewMux(hosts[0]), NewMux(hosts[1]), NewMux(hosts[2])}
	peers := ids(hosts)
	cfg := DefaultConfig()
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 50*time.Millisecond, 50*time.Millisecond, 50*time.Millisecond
	members := []*member{startMember(t, cfg, muxes[0], "lost", peers), startMember(t, cfg, muxes[1], "lost", peers),
		startMember(t, cfg, muxes[2], "lost", peers)}
	if got := waitLeader(t, members[1]); got != peers[0] {
		t.Fatalf("leader %s, want %s", got, peers[0])
	}
	if err := members[0].rep.Shutdown(); err != nil {
		t.Fatal(err)
	}
	_ = hosts[0].Close()
	next := waitLeader(t, members[1], peers[0])
	for i, h := range hosts {
		if h.ID() == next {
			if err := members[i].rep.Apply(entry("lost", peers[0]), testTimeout); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitApplied(t, members[1])
	waitApplied(t, members[2])
}

// Nothing of a shut-down cluster stays: no goroutine, no stream, no handler.
func TestCluster_ShutdownLeavesNothing(t *testing.T) {
	hosts := p2ptest.Connected(t, 3)
	muxes := []*Mux{NewMux(hosts[0]), NewMux(hosts[1]), NewMux(hosts[2])}
	peers := ids(hosts)
	baseline := runtime.NumGoroutine()
	for round := range 3 {
		id := fmt.Sprintf("gone-%d", round)
		members := make([]*member, 3)
		for i := range members {
			members[i] = startMember(t, DefaultConfig(), muxes[i], id, peers)
		}
		applyOnLeader(t, members, hosts, entry(id, peers[0]))
		for _, m := range members {
			waitApplied(t, m)
		}
		for _, m := range members {
			if err := m.rep.Shutdown(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		}
	}
	waitFor(t, "raft streams closed", func() bool { return raftStreams(hosts) == 0 })
	waitFor(t, fmt.Sprintf("goroutines back to %d", baseline), func() bool { return runtime.NumGoroutine() <= baseline })
	for _, m := range muxes {
		if n := len(m.layers); n != 0 {
			t.Errorf("%d clusters still registered", n)
		}
	}
}

func raftStreams(hosts []host.Host) int {
	n := 0
	for _, h := range hosts {
		for _, c := range h.Network().Conns() {
			for _, s := range c.GetStreams() {
				if strings.HasPrefix(string(s.Protocol()), string(ProtocolID)) {
					n++
				}
			}
		}
	}
	return n
}

// waitFor polls cond (state that has no signal of its own: the runtime's goroutine count,
// libp2p's stream table) until it holds or the test's deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(testTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting: %s", what)
		case <-tick.C:
		}
	}
}

// originalLayer is the original b7s's transport (go-libp2p-raft with gostream): one handler
// for ProtocolID for the whole host, and dials of ProtocolID only.
type originalLayer struct {
	h      host.Host
	accept chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newOriginalLayer(h host.Host) *originalLayer {
	l := &originalLayer{h: h, accept: make(chan net.Conn), closed: make(chan struct{})}
	h.SetStreamHandler(ProtocolID, func(s network.Stream) {
		select {
		case l.accept <- &plainConn{s}:
		case <-l.closed:
			_ = s.Reset()
		}
	})
	return l
}

func (l *originalLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.closed:
		return nil, errors.New("closed")
	}
}

func (l *originalLayer) Close() error {
	l.once.Do(func() { close(l.closed); l.h.RemoveStreamHandler(ProtocolID) })
	return nil
}
func (l *originalLayer) Addr() net.Addr { return addr(l.h.ID()) }
func (l *originalLayer) Dial(a hraft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	id, err := peer.Decode(string(a))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := l.h.NewStream(ctx, id, ProtocolID)
	if err != nil {
		return nil, err
	}
	return &plainConn{s}, nil
}

type plainConn struct{ network.Stream }

func (c *plainConn) LocalAddr() net.Addr  { return addr(c.Conn().LocalPeer()) }
func (c *plainConn) RemoteAddr() net.Addr { return addr(c.Conn().RemotePeer()) }

// A cluster of two of our nodes and one node with the original's transport: our nodes reach
// it over ProtocolID, it reaches them over ProtocolID, and the entry is applied everywhere.
func TestCluster_MixedWithOriginalTransport(t *testing.T) {
	hosts := p2ptest.Connected(t, 3)
	peers := ids(hosts)
	ours := []*member{
		startMember(t, DefaultConfig(), NewMux(hosts[0]), "mixed", peers),
		startMember(t, DefaultConfig(), NewMux(hosts[1]), "mixed", peers),
	}
	// A second cluster of our two nodes, so that the shared protocol has to pick by sender.
	other := startMember(t, DefaultConfig(), ours[0].rep.layer.mux, "ours-only", peers[:2])
	_ = startMember(t, DefaultConfig(), ours[1].rep.layer.mux, "ours-only", peers[:2])

	// The original: hashicorp/raft as spec §5 configures it.
	applied := make(chan *hraft.Log, 2)
	conf := hraft.DefaultConfig()
	conf.LocalID = hraft.ServerID(peers[2].String())
	conf.HeartbeatTimeout, conf.ElectionTimeout, conf.LeaderLeaseTimeout = 300*time.Millisecond, 300*time.Millisecond, 200*time.Millisecond
	conf.LogLevel = "off"
	trans := hraft.NewNetworkTransportWithConfig(&hraft.NetworkTransportConfig{
		ServerAddressProvider: addressProvider{}, Stream: newOriginalLayer(hosts[2]), Timeout: time.Minute,
	})
	store := hraft.NewInmemStore()
	orig, err := hraft.NewRaft(conf, fsmFunc(func(l *hraft.Log) any { applied <- l; return nil }), store, store,
		hraft.NewDiscardSnapshotStore(), trans)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = orig.Shutdown().Error() })
	var servers []hraft.Server
	for _, p := range peers {
		// Quirk Q10: the original's addresses are the raw peer-ID bytes.
		servers = append(servers, hraft.Server{ID: hraft.ServerID(p.String()), Address: hraft.ServerAddress(p)})
	}
	if err := orig.BootstrapCluster(hraft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}
	applyOnLeader(t, ours, hosts, entry("mixed", peers[0]))
	for _, m := range ours {
		waitApplied(t, m)
	}
	select {
	case l := <-applied:
		if !strings.Contains(string(l.Data), `"request_id":"mixed"`) {
			t.Errorf("original applied %s", l.Data)
		}
	case <-time.After(testTimeout):
		t.Fatal("the original replica did not apply the entry")
	}
	// The other cluster of the same two nodes was not disturbed.
	if l := waitLeader(t, other); l == "" {
		t.Error("the other cluster has no leader")
	}
}

type fsmFunc func(*hraft.Log) any

func (f fsmFunc) Apply(l *hraft.Log) any             { return f(l) }
func (fsmFunc) Snapshot() (hraft.FSMSnapshot, error) { return emptySnapshot{}, nil }
func (fsmFunc) Restore(rc io.ReadCloser) error       { return rc.Close() }

// The FSM passes on the cluster's own request once and skips anything else a leader commits.
func TestFSM_AppliesItsRequestOnceAndSkipsTheRest(t *testing.T) {
	var got []LogEntry
	f := &fsm{requestID: "r1", applied: func(e LogEntry) { got = append(got, e) }, log: zerolog.Nop()}
	cmd := func(data string) *hraft.Log { return &hraft.Log{Type: hraft.LogCommand, Data: []byte(data)} }
	cases := []struct {
		name    string
		log     *hraft.Log
		wantErr bool
	}{
		{"not a command", &hraft.Log{Type: hraft.LogNoop}, false},
		{"malformed", cmd(`{"request_id":`), true},
		{"not JSON", cmd("\x00\x01"), true},
		{"another request", cmd(`{"request_id":"r2","origin":"` + peerA + `","execute":{}}`), true},
		{"the request", cmd(`{"request_id":"r1","origin":"` + peerA + `","execute":{"function_id":"fn","method":"m","config":{"runtime":{},"result_aggregation":{}}}}`), false},
		{"the request again", cmd(`{"request_id":"r1","origin":"` + peerA + `","execute":{}}`), false},
	}
	for _, c := range cases {
		if err, _ := f.Apply(c.log).(error); (err != nil) != c.wantErr {
			t.Errorf("%s: Apply = %v, want error %v", c.name, err, c.wantErr)
		}
	}
	if len(got) != 1 || got[0].RequestID != "r1" || got[0].Execute.FunctionID != "fn" || got[0].Origin.String() != peerA {
		t.Fatalf("applied %+v, want the request once", got)
	}
}

// peerA is a valid base58 peer ID.
const peerA = "12D3KooWA3HWsZfyb4jG3mjoUwkRryBFqxR1HzeQHFBUQymDP2WG"

// LogEntry is the original's FSMLogEntry byte for byte: key order, omitempty, execute always.
func TestLogEntry_JSONAsTheOriginal(t *testing.T) {
	id, _ := peer.Decode(peerA)
	b, err := json.Marshal(LogEntry{RequestID: "r1", Origin: id, Execute: messages.Request{FunctionID: "fn", Method: "m.wasm"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"request_id":"r1","origin":"` + peerA + `","execute":{"function_id":"fn","method":"m.wasm","config":{"runtime":{},"result_aggregation":{}}}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(LogEntry{})
	if string(b) != `{"execute":{"function_id":"","method":"","config":{"runtime":{},"result_aggregation":{}}}}` {
		t.Errorf("empty entry %s", b)
	}
}
