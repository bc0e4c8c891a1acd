package pbft

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// t0 is the fake clock's origin.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// The fake signatures of the script and simulation tests: "sig:<signer>:<first 8 of the
// digest>", so a test can sign as any peer, or forge.

func fakeSigner(self peer.ID) Signer {
	return func(digest string) (string, error) { return fakeSig(self, digest), nil }
}

func fakeSig(signer peer.ID, digest string) string {
	return "sig:" + string(signer) + ":" + digest[:min(8, len(digest))]
}

func fakeVerify(from peer.ID, digest, signature string) bool {
	return signature == fakeSig(from, digest)
}

// testPeers is A, B, C… as peer IDs (the core never decodes them).
func testPeers(n int) []peer.ID {
	out := make([]peer.ID, n)
	for i := range out {
		out[i] = peer.ID(string(rune('A' + i)))
	}
	return out
}

// testRequest is the head's request named id.
func testRequest(id string) Request {
	return Request{ID: id, Timestamp: t0, Origin: peer.ID("H"),
		Execute: messages.Request{FunctionID: "fn", Method: id + ".wasm"}}
}

func mustDigest(t testing.TB, r Request) string {
	t.Helper()
	d, err := r.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func signedAs[T any, P interface {
	*T
	Signed
}](t testing.TB, m T, signer peer.ID) T {
	t.Helper()
	if err := Sign(P(&m), fakeSigner(signer)); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewReplicaValidates(t *testing.T) {
	peers := testPeers(4)
	ok := Config{Self: "A", Peers: peers, RequestTimeout: time.Second, Sign: fakeSigner("A"), Verify: fakeVerify}
	if _, err := NewReplica(ok); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Config){
		"three peers":     func(c *Config) { c.Peers = peers[:3] },
		"self missing":    func(c *Config) { c.Self = "Z" },
		"duplicate":       func(c *Config) { c.Peers = []peer.ID{"A", "B", "C", "A"} },
		"empty peer":      func(c *Config) { c.Peers = []peer.ID{"A", "B", "C", ""} },
		"no timeout":      func(c *Config) { c.RequestTimeout = 0 },
		"no signer":       func(c *Config) { c.Sign = nil },
		"no verifier":     func(c *Config) { c.Verify = nil },
		"negative period": func(c *Config) { c.RequestTimeout = -time.Second },
	} {
		c := ok
		mutate(&c)
		if _, err := NewReplica(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	r, _ := NewReplica(Config{Self: "B", Peers: testPeers(7), RequestTimeout: time.Second, Sign: fakeSigner("B"), Verify: fakeVerify})
	if r.F() != 2 || r.View() != 0 || !r.Active() || r.Primary() != "A" || r.LastExecuted() != 0 {
		t.Errorf("new replica: f=%d view=%d active=%v primary=%s executed=%d", r.F(), r.View(), r.Active(), r.Primary(), r.LastExecuted())
	}
	// The caller's peer list is not kept.
	ps := testPeers(4)
	r, _ = NewReplica(Config{Self: "A", Peers: ps, RequestTimeout: time.Second, Sign: fakeSigner("A"), Verify: fakeVerify})
	ps[0] = "Z"
	if r.Primary() != "A" {
		t.Errorf("primary %s after the caller changed its list", r.Primary())
	}
}

// Every drop reason is a short snake_case label.
func TestDropReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range DropReasons() {
		if seen[r] || r == "" || strings.ToLower(r) != r || strings.ContainsAny(r, " -") {
			t.Errorf("reason %q", r)
		}
		seen[r] = true
	}
}

func TestDeepCopy(t *testing.T) {
	req := testRequest("r1")
	req.Carrier = map[string]string{"k": "v"}
	req.Execute.Parameters = []messages.Parameter{{Name: "a", Value: "b"}}
	stdin := "in"
	req.Execute.Config.Stdin = &stdin
	req.Execute.Config.Attributes = &messages.Attributes{Values: []messages.Parameter{{Name: "x"}}}
	nv := NewView{View: 1, Messages: map[peer.ID]ViewChange{"B": {View: 1, Prepares: []PrepareInfo{{
		View: 0, SequenceNumber: 1, PrePrepare: PrePrepare{Request: req}, Prepares: map[peer.ID]Prepare{"C": {View: 0}},
	}}}}, PrePrepares: []PrePrepare{{Request: req}}}
	var m Message = nv
	c := deepCopy(m)
	if !reflect.DeepEqual(c, m) {
		t.Fatal("copy differs")
	}
	before, _ := Encode(nv)
	scribble(reflect.ValueOf(c))
	after, _ := Encode(nv)
	if !bytes.Equal(before, after) {
		t.Errorf("changing the copy changed the original:\n%s\n%s", before, after)
	}
	if req.Timestamp != deepCopy(req).Timestamp {
		t.Error("time not copied")
	}
}

// scribble overwrites everything reachable through v's maps, slices and pointers.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			v.SetMapIndex(k, reflect.Zero(v.Type().Elem()))
		}
		if v.Type().Key().Kind() == reflect.String {
			v.SetMapIndex(reflect.ValueOf("scribbled").Convert(v.Type().Key()), reflect.Zero(v.Type().Elem()))
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
			if v.Index(i).CanSet() {
				v.Index(i).Set(reflect.Zero(v.Type().Elem()))
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scribble(v.Field(i))
			}
		}
	}
}

// Effects share nothing with the replica: a run whose every effect is overwritten once carried
// out goes exactly as one whose effects are left alone (simulated twins, with a view change).
func TestEffectsDoNotAlias(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		s := newSim(t, simParams{n: 4, seed: seed, twins: true, faults: []fault{{idx: 0, kind: faultSilent}}})
		s.run()
		s.checkLiveness()
	}
}

// Step never panics whatever it is fed, and what a replica broadcasts decodes.

// fuzzKeys is a cluster with real Ed25519 keys, derived from fixed seeds.
func fuzzKeys(t testing.TB) ([]peer.ID, []crypto.PrivKey) {
	var ids []peer.ID
	var keys []crypto.PrivKey
	for i := range 4 {
		seed := bytes.Repeat([]byte{byte(i + 1)}, ed25519.SeedSize)
		k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		ids, keys = append(ids, id), append(keys, k)
	}
	return ids, keys
}

// fuzzSeeds is the lines of a valid run: the primary's pre-prepare, prepares, commits, a view
// change and a new view, encoded.
func fuzzSeeds(t testing.TB) [][]byte {
	ids, keys := fuzzKeys(t)
	req := Request{ID: "r1", Timestamp: t0, Origin: ids[0], Execute: messages.Request{FunctionID: "fn", Method: "m"}}
	d := mustDigest(t, req)
	signed := func(m Signed, i int) Message {
		if err := Sign(m, KeySigner(keys[i])); err != nil {
			t.Fatal(err)
		}
		return reflect.ValueOf(m).Elem().Interface().(Message)
	}
	pp := signed(&PrePrepare{View: 0, SequenceNumber: 1, Digest: d, Request: req}, 0).(PrePrepare)
	var lines []Message
	lines = append(lines, pp)
	prepares := map[peer.ID]Prepare{}
	for i := 1; i < 4; i++ {
		p := signed(&Prepare{View: 0, SequenceNumber: 1, Digest: d}, i).(Prepare)
		prepares[ids[i]] = p
		lines = append(lines, p, signed(&Commit{View: 0, SequenceNumber: 1, Digest: d}, i))
	}
	vcs := map[peer.ID]ViewChange{}
	for i := range 4 {
		vc := signed(&ViewChange{View: 1, Prepares: []PrepareInfo{{View: 0, SequenceNumber: 1, Digest: d, PrePrepare: pp, Prepares: prepares}}}, i).(ViewChange)
		vcs[ids[i]] = vc
		lines = append(lines, vc)
	}
	npp := signed(&PrePrepare{View: 1, SequenceNumber: 1, Digest: d, Request: req}, 1).(PrePrepare)
	lines = append(lines, signed(&NewView{View: 1, Messages: vcs, PrePrepares: []PrePrepare{npp}}, 1))
	var out [][]byte
	var all []byte
	for _, m := range lines {
		b, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
		all = append(append(all, b...), '\n')
	}
	return append(out, all)
}

func FuzzStep(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("T\n{}\n"))
	ids, keys := fuzzKeys(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Replica D (a backup in views 0 to 2), fed the head's request first, then each line:
		// "T" is the timer firing, anything else a message from the peer the line's first byte
		// picks (D itself included, which it must refuse).
		r, err := NewReplica(Config{Self: ids[3], Peers: ids, RequestTimeout: time.Second, Sign: KeySigner(keys[3]), Verify: PeerVerifier})
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		step := func(in Input) {
			now = now.Add(100 * time.Millisecond)
			for _, e := range r.Step(in, now) {
				if b, ok := e.(Broadcast); ok {
					if b.Msg == nil {
						t.Fatal("broadcast of nothing")
					}
					enc, err := Encode(b.Msg)
					if err != nil {
						t.Fatalf("broadcast %T does not encode: %v", b.Msg, err)
					}
					if _, err := Decode(enc); err != nil {
						t.Fatalf("broadcast %s does not decode: %v", enc, err)
					}
				}
			}
			if err := r.checkInvariants(); err != nil {
				t.Fatal(err)
			}
		}
		step(ClientRequest{Request: Request{ID: "r1", Timestamp: t0, Origin: ids[0], Execute: messages.Request{FunctionID: "fn", Method: "m"}}})
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			if string(line) == "T" {
				step(Timeout{})
				continue
			}
			m, err := Decode(line)
			if err != nil {
				continue
			}
			from := ids[0]
			if len(line) > 0 {
				from = ids[int(line[len(line)-1])%4]
			}
			step(Receive{From: from, Msg: m})
			step(Receive{From: ids[1], Msg: m})
		}
		step(Timeout{})
	})
}

// The replica refuses what is not a message from another peer of the cluster, and pointers to
// messages are taken as the messages.
func TestReceiveOddInputs(t *testing.T) {
	peers := testPeers(4)
	r, _ := NewReplica(Config{Self: "B", Peers: peers, RequestTimeout: time.Second, Sign: fakeSigner("B"), Verify: fakeVerify})
	req := testRequest("r1")
	pp := signedAs(t, PrePrepare{View: 0, SequenceNumber: 1, Digest: mustDigest(t, req), Request: req}, "A")
	for _, c := range []struct {
		in   Receive
		want string
	}{
		{Receive{From: "B", Msg: pp}, "drop B PrePrepare not_in_cluster"},
		{Receive{From: "Z", Msg: pp}, "drop Z PrePrepare not_in_cluster"},
		{Receive{From: "A", Msg: nil}, "drop A type(0) unexpected_type"},
		{Receive{From: "A", Msg: (*PrePrepare)(nil)}, "drop A type(0) unexpected_type"},
		{Receive{From: "A", Msg: req}, "drop A Request unexpected_type"},
		{Receive{From: "A", Msg: &pp}, "set-timer 1s|broadcast Prepare v=0 s=1 " + mustDigest(t, req)[:8]},
	} {
		var got []string
		for _, e := range r.Step(c.in, t0) {
			got = append(got, describeEffect(e))
		}
		if s := strings.Join(got, "|"); s != c.want {
			t.Errorf("%v: got %s, want %s", c.in, s, c.want)
		}
	}
	if got := r.Step(Timeout{}, t0.Add(time.Second)); len(got) == 0 {
		t.Error("the armed timer fired without effect")
	}
	r, _ = NewReplica(Config{Self: "B", Peers: peers, RequestTimeout: time.Second, Sign: fakeSigner("B"), Verify: fakeVerify})
	if got := r.Step(Timeout{}, t0.Add(2*time.Second)); len(got) != 0 {
		t.Errorf("a spurious timeout: %v", got)
	}
}

// describeEffect is a short form of e for unit tests.
func describeEffect(e Effect) string {
	switch e := e.(type) {
	case Drop:
		return fmt.Sprintf("drop %s %s %s", string(e.From), e.Type, e.Reason)
	case SetTimer:
		return "set-timer " + e.At.Sub(t0).String()
	case StopTimer:
		return "stop-timer"
	case Execute:
		return fmt.Sprintf("execute %s v=%d s=%d", e.Request.ID, e.View, e.Sequence)
	case Broadcast:
		switch m := e.Msg.(type) {
		case Prepare:
			return fmt.Sprintf("broadcast Prepare v=%d s=%d %.8s", m.View, m.SequenceNumber, m.Digest)
		case Commit:
			return fmt.Sprintf("broadcast Commit v=%d s=%d %.8s", m.View, m.SequenceNumber, m.Digest)
		}
		return "broadcast " + e.Msg.Type().String()
	}
	return fmt.Sprintf("%T", e)
}

// A signer that fails sends nothing, and the replica stays consistent.
func TestSignerFails(t *testing.T) {
	failing := func(string) (string, error) { return "", errors.New("no key") }
	r, _ := NewReplica(Config{Self: "A", Peers: testPeers(4), RequestTimeout: time.Second, Sign: failing, Verify: fakeVerify})
	effects := r.Step(ClientRequest{Request: testRequest("r1")}, t0)
	effects = append(effects, r.Step(Timeout{}, t0.Add(time.Second))...)
	for _, e := range effects {
		if _, ok := e.(Broadcast); ok {
			t.Errorf("broadcast without a signature: %v", e)
		}
	}
	if err := r.checkInvariants(); err != nil {
		t.Error(err)
	}
	if r.Active() || r.View() != 1 {
		t.Errorf("view %d active %v after the timer fired", r.View(), r.Active())
	}
}
