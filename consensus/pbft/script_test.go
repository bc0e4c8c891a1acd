package pbft

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/internal/datadriven"
)

// TestScripts runs every script in testdata against one replica. Commands:
//
//	replica self=P [n=4] [timeout=1s]
//	request id=R [at=D]
//	preprepare from=P seq=S req=R [view=V] [digest=R|null|bad] [sig=P|bad] [at=D]
//	prepare    from=P seq=S req=R [view=V] [digest=…] [sig=…] [at=D]
//	commit     from=P seq=S req=R [view=V] [digest=…] [sig=…] [at=D]
//	viewchange from=P view=V [certs="S:R@V …"] [corrupt=…] [sig=…] [at=D]
//	newview    from=P view=V vcs=P,P,… [certs="S:R@V …"] [certs_P="…"] [pps="R …"] [seqs="S …"]
//	           [corrupt=…] [sig=…] [at=D]
//	timeout [at=D]
//	state
//
// Peers are A, B, C… (n of them, A the primary of view 0); requests are named (R, or null for
// the null request) and printed by name. A message is signed by its sender unless sig= names
// another signer or is bad (a forgery). view= defaults to the replica's view; at= (an offset
// from t0) to the time of the previous command. certs= are prepared certificates: at sequence S,
// request R pre-prepared in view V by its primary, with prepares from the first 2f other peers.
// A newview's ViewChanges are built from certs= (certs_P= for peer P's), except the replica's
// own, which is the one it broadcast; its pre-prepares are what the certificates call for unless
// pps= (and seqs=) say otherwise. corrupt= breaks one part of a message: cert_prepares,
// cert_pp_sig, cert_digest (a viewchange's first certificate), vc_sig, vc_view, vc_cert,
// vc_stranger (the last ViewChange of a newview that is not the replica's own), pp_sig,
// pp_digest (a newview's first pre-prepare).
//
// Each step prints the effects, one a line, or "ok"; the harness checks the replica's
// invariants and what every effect must be after each step.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			h := &harness{t: t}
			datadriven.Run(t, f, h.run)
		})
	}
}

type harness struct {
	t     *testing.T
	r     *Replica
	peers []peer.ID
	f     int
	now   time.Time
	names map[string]string   // digest → request name
	ownVC map[uint]ViewChange // the ViewChanges the replica broadcast, by view
	ran   map[string]uint     // request ID → sequence executed
	last  uint                // the last sequence executed
	view  uint                // the view after the previous step
}

func (h *harness) run(t *testing.T, c *datadriven.Case) string {
	a := &args{c: c, used: map[string]bool{}}
	out, err := h.command(a)
	if err == nil {
		err = a.err
	}
	if err == nil {
		err = a.unused()
	}
	if err != nil {
		t.Fatalf("line %d: %s: %v", c.Line, c.Cmd, err)
	}
	return out
}

func (h *harness) command(a *args) (string, error) {
	if a.c.Cmd == "replica" {
		return h.start(a)
	}
	if h.r == nil {
		return "", errors.New("no replica: start one first")
	}
	if a.c.Cmd == "state" {
		return h.state(), nil
	}
	var in Input
	switch a.c.Cmd {
	case "request":
		in = ClientRequest{Request: h.request(a.str("id", ""))}
	case "timeout":
		in = Timeout{}
	case "preprepare", "prepare", "commit", "viewchange", "newview":
		from := h.peer(a, "from")
		m, err := h.message(a, from)
		if err != nil {
			return "", err
		}
		in = Receive{From: from, Msg: m}
	default:
		return "", fmt.Errorf("unknown command %q", a.c.Cmd)
	}
	h.now = a.at(h.now)
	if a.err != nil {
		return "", a.err
	}
	effects := h.r.Step(in, h.now)
	h.check(a.c.Line, effects)
	out := h.format(effects)
	for _, e := range effects {
		scribble(reflect.ValueOf(&e).Elem()) // the replica must not see this
	}
	return out, nil
}

func (h *harness) start(a *args) (string, error) {
	n := a.int("n", 4)
	h.peers = testPeers(n)
	h.f = (n - 1) / 3
	self := h.peer(a, "self")
	r, err := NewReplica(Config{Self: self, Peers: h.peers, RequestTimeout: a.dur("timeout", time.Second),
		Sign: fakeSigner(self), Verify: fakeVerify})
	if err != nil {
		return "", err
	}
	h.r, h.now = r, t0
	h.names, h.ownVC, h.ran, h.last, h.view = map[string]string{}, map[uint]ViewChange{}, map[string]uint{}, 0, 0
	return "", nil
}

// request is the head's request named name; "null" is the null request.
func (h *harness) request(name string) Request {
	if name == "null" || name == "" {
		return Request{}
	}
	r := testRequest(name)
	h.names[mustDigest(h.t, r)] = name
	return r
}

func (h *harness) digest(name string) string {
	switch name {
	case "null":
		return ""
	case "bad":
		return strings.Repeat("0", 64)
	}
	return mustDigest(h.t, h.request(name))
}

func (h *harness) name(digest string) string {
	if digest == "" {
		return "null"
	}
	if n, ok := h.names[digest]; ok {
		return n
	}
	return digest[:min(8, len(digest))]
}

func (h *harness) peer(a *args, k string) peer.ID {
	v := a.str(k, "")
	p := peer.ID(v)
	if !slices.Contains(h.peers, p) && v != "Z" {
		a.err = errors.Join(a.err, fmt.Errorf("%s: %q is not a peer", k, v))
	}
	return p
}

func (h *harness) primary(v uint) peer.ID { return h.peers[v%uint(len(h.peers))] }

// sign signs m as signer, or forges when signer is "bad".
func (h *harness) sign(m Signed, signer string) {
	if signer == "bad" {
		m.setSignature("sig:forged")
		return
	}
	if err := Sign(m, fakeSigner(peer.ID(signer))); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) message(a *args, from peer.ID) (Message, error) {
	view := uint(a.int("view", int(h.r.View())))
	sig := a.str("sig", string(from))
	switch a.c.Cmd {
	case "preprepare", "prepare", "commit":
		seq := uint(a.int("seq", 0))
		req := a.str("req", "")
		if req == "" {
			return nil, errors.New("req= missing")
		}
		d := h.digest(a.str("digest", req))
		switch a.c.Cmd {
		case "preprepare":
			m := PrePrepare{View: view, SequenceNumber: seq, Digest: d, Request: h.request(req)}
			h.sign(&m, sig)
			return m, nil
		case "prepare":
			m := Prepare{View: view, SequenceNumber: seq, Digest: d}
			h.sign(&m, sig)
			return m, nil
		default:
			m := Commit{View: view, SequenceNumber: seq, Digest: d}
			h.sign(&m, sig)
			return m, nil
		}
	case "viewchange":
		certs, err := h.certs(a.str("certs", ""), a.str("corrupt", ""))
		if err != nil {
			return nil, err
		}
		m := ViewChange{View: view, Prepares: certs}
		h.sign(&m, sig)
		return m, nil
	case "newview":
		return h.newView(a, from, view, sig)
	}
	return nil, fmt.Errorf("no message for %s", a.c.Cmd)
}

// certs parses "S:R@V …" into prepared certificates; corrupt breaks the first.
func (h *harness) certs(spec, corrupt string) ([]PrepareInfo, error) {
	var out []PrepareInfo
	for i, item := range strings.Fields(spec) {
		seqS, rest, ok1 := strings.Cut(item, ":")
		name, viewS, ok2 := strings.Cut(rest, "@")
		seq, err1 := strconv.Atoi(seqS)
		view, err2 := strconv.Atoi(viewS)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("certificate %q is not S:R@V", item)
		}
		c := ""
		if i == 0 {
			c = corrupt
		}
		out = append(out, h.cert(uint(seq), name, uint(view), c))
	}
	return out, nil
}

func (h *harness) cert(seq uint, name string, view uint, corrupt string) PrepareInfo {
	req, d := h.request(name), h.digest(name)
	primary := h.primary(view)
	pp := PrePrepare{View: view, SequenceNumber: seq, Digest: d, Request: req}
	signer := string(primary)
	if corrupt == "cert_pp_sig" {
		signer = string(h.peers[(view+1)%uint(len(h.peers))])
	}
	h.sign(&pp, signer)
	want := 2 * h.f
	if corrupt == "cert_prepares" {
		want--
	}
	prepares := map[peer.ID]Prepare{}
	for _, p := range h.peers {
		if p == primary || len(prepares) == want {
			continue
		}
		pd := d
		if corrupt == "cert_digest" {
			pd = h.digest("bad")
		}
		pr := Prepare{View: view, SequenceNumber: seq, Digest: pd}
		h.sign(&pr, string(p))
		prepares[p] = pr
	}
	return PrepareInfo{View: view, SequenceNumber: seq, Digest: d, PrePrepare: pp, Prepares: prepares}
}

func (h *harness) newView(a *args, from peer.ID, view uint, sig string) (Message, error) {
	corrupt := a.str("corrupt", "")
	var vcs []peer.ID
	for p := range strings.SplitSeq(a.str("vcs", ""), ",") {
		if p != "" {
			vcs = append(vcs, peer.ID(p))
		}
	}
	msgs := map[peer.ID]ViewChange{}
	own, haveOwn := h.ownVC[view]
	target := -1 // the ViewChange corrupt= breaks: the last one built here
	for i, p := range vcs {
		if !haveOwn || p != h.r.cfg.Self {
			target = i
		}
	}
	for i, p := range vcs {
		last := i == target
		if haveOwn && p == h.r.cfg.Self {
			msgs[p] = own
			continue
		}
		spec := a.str("certs", "")
		if s, ok := a.c.Args["certs_"+string(p)]; ok {
			a.used["certs_"+string(p)] = true
			spec = s
		}
		c := ""
		if last && corrupt == "vc_cert" {
			c = "cert_prepares"
		}
		certs, err := h.certs(spec, c)
		if err != nil {
			return nil, err
		}
		vc := ViewChange{View: view, Prepares: certs}
		if last && corrupt == "vc_view" {
			vc.View = view - 1
		}
		signer := string(p)
		if last && corrupt == "vc_sig" {
			signer = "bad"
		}
		if last && corrupt == "vc_stranger" {
			p, signer = "Z", "Z"
		}
		h.sign(&vc, signer)
		msgs[p] = vc
	}
	for k := range a.c.Args { // certs_P for a peer that is not in vcs
		if strings.HasPrefix(k, "certs_") {
			a.used[k] = true
		}
	}
	var names []string
	if s, ok := a.c.Args["pps"]; ok {
		a.used["pps"] = true
		names = strings.Fields(s)
	} else {
		names = h.reproposals(msgs)
	}
	seqs := make([]uint, len(names))
	for i := range seqs {
		seqs[i] = uint(i + 1)
	}
	if s, ok := a.c.Args["seqs"]; ok {
		a.used["seqs"] = true
		for i, f := range strings.Fields(s) {
			n, err := strconv.Atoi(f)
			if err != nil || i >= len(seqs) {
				return nil, fmt.Errorf("seqs: %q", s)
			}
			seqs[i] = uint(n)
		}
	}
	pps := make([]PrePrepare, len(names))
	for i, name := range names {
		pps[i] = PrePrepare{View: view, SequenceNumber: seqs[i], Digest: h.digest(name), Request: h.request(name)}
		signer := string(from)
		if i == 0 && corrupt == "pp_sig" {
			signer = "bad"
		}
		if i == 0 && corrupt == "pp_digest" {
			pps[i].Digest = h.digest("bad")
		}
		h.sign(&pps[i], signer)
	}
	m := NewView{View: view, Messages: msgs, PrePrepares: pps}
	h.sign(&m, sig)
	return m, nil
}

// reproposals names what a NewView on msgs pre-prepares: at each sequence up to the highest
// prepared, the request of the highest-view certificate, null where none (computed here apart
// from the replica's own code).
func (h *harness) reproposals(msgs map[peer.ID]ViewChange) []string {
	type best struct {
		view   uint
		digest string
	}
	top := uint(0)
	at := map[uint]best{}
	for _, vc := range msgs {
		for _, pi := range vc.Prepares {
			b, ok := at[pi.SequenceNumber]
			if !ok || pi.View > b.view || (pi.View == b.view && pi.Digest < b.digest) {
				at[pi.SequenceNumber] = best{pi.View, pi.Digest}
			}
			top = max(top, pi.SequenceNumber)
		}
	}
	out := make([]string, top)
	for i := range out {
		b, ok := at[uint(i+1)]
		if !ok {
			out[i] = "null"
			continue
		}
		out[i] = h.name(b.digest)
	}
	return out
}

// check asserts what must hold after every step, whatever the script says.
func (h *harness) check(line int, effects []Effect) {
	t, r := h.t, h.r
	self := r.cfg.Self
	if err := r.checkInvariants(); err != nil {
		t.Errorf("line %d: %v", line, err)
	}
	if r.View() < h.view {
		t.Errorf("line %d: view went from %d to %d", line, h.view, r.View())
	}
	h.view = r.View()
	if r.Primary() != h.primary(r.View()) {
		t.Errorf("line %d: primary %s in view %d", line, string(r.Primary()), r.View())
	}
	for _, e := range effects {
		switch e := e.(type) {
		case Broadcast:
			s, ok := signedPtr(e.Msg)
			if !ok || !Verify(s, self, fakeVerify) {
				t.Errorf("line %d: broadcast %s not signed by %s", line, e.Msg.Type(), string(self))
			}
			switch m := e.Msg.(type) {
			case PrePrepare:
				if h.primary(m.View) != self || !digestMatches(m.Request, m.Digest) {
					t.Errorf("line %d: pre-prepare for view %d by %s, digest %s", line, m.View, string(self), h.name(m.Digest))
				}
			case Prepare:
				if h.primary(m.View) == self {
					t.Errorf("line %d: the primary of view %d prepares", line, m.View)
				}
			case ViewChange:
				if err := r.validViewChange(m); err != nil {
					t.Errorf("line %d: invalid view change broadcast: %v", line, err)
				}
				h.ownVC[m.View] = deepCopy(m)
			case NewView:
				if h.primary(m.View) != self || r.validNewView(self, m) != nil || m.Messages[self].View != m.View {
					t.Errorf("line %d: invalid new view broadcast: %v", line, r.validNewView(self, m))
				}
			}
		case Execute:
			if e.Request.IsNull() {
				t.Errorf("line %d: the null request executed", line)
			}
			if s, ok := h.ran[e.Request.ID]; ok {
				t.Errorf("line %d: %s executed at %d and %d", line, e.Request.ID, s, e.Sequence)
			}
			if e.Sequence <= h.last || e.Sequence > r.LastExecuted() {
				t.Errorf("line %d: sequence %d executed after %d (last executed %d)", line, e.Sequence, h.last, r.LastExecuted())
			}
			h.ran[e.Request.ID], h.last = e.Sequence, e.Sequence
		case SetTimer:
			if !e.At.After(h.now) {
				t.Errorf("line %d: timer at %v, now %v", line, e.At.Sub(t0), h.now.Sub(t0))
			}
		case Drop:
			if !slices.Contains(DropReasons(), e.Reason) {
				t.Errorf("line %d: drop reason %q", line, e.Reason)
			}
		}
	}
}

func signedPtr(m Message) (Signed, bool) {
	switch m := m.(type) {
	case PrePrepare:
		return &m, true
	case Prepare:
		return &m, true
	case Commit:
		return &m, true
	case ViewChange:
		return &m, true
	case NewView:
		return &m, true
	}
	return nil, false
}

func (h *harness) format(effects []Effect) string {
	var b strings.Builder
	for _, e := range effects {
		switch e := e.(type) {
		case Broadcast:
			b.WriteString("broadcast " + h.describe(e.Msg) + "\n")
		case Execute:
			fmt.Fprintf(&b, "execute %s v=%d s=%d\n", e.Request.ID, e.View, e.Sequence)
		case SetTimer:
			fmt.Fprintf(&b, "set-timer %v\n", e.At.Sub(t0))
		case StopTimer:
			b.WriteString("stop-timer\n")
		case Drop:
			fmt.Fprintf(&b, "drop %s %s %s\n", string(e.From), e.Type, e.Reason)
		default:
			fmt.Fprintf(&b, "unknown effect %T\n", e)
		}
	}
	return b.String()
}

func (h *harness) describe(m Message) string {
	switch m := m.(type) {
	case PrePrepare:
		return fmt.Sprintf("PrePrepare v=%d s=%d %s", m.View, m.SequenceNumber, h.name(m.Digest))
	case Prepare:
		return fmt.Sprintf("Prepare v=%d s=%d %s", m.View, m.SequenceNumber, h.name(m.Digest))
	case Commit:
		return fmt.Sprintf("Commit v=%d s=%d %s", m.View, m.SequenceNumber, h.name(m.Digest))
	case ViewChange:
		return fmt.Sprintf("ViewChange v=%d prepared=[%s]", m.View, h.describeCerts(m.Prepares))
	case NewView:
		var ids, pps []string
		for id := range m.Messages {
			ids = append(ids, string(id))
		}
		slices.Sort(ids)
		for _, p := range m.PrePrepares {
			pps = append(pps, fmt.Sprintf("%d:%s", p.SequenceNumber, h.name(p.Digest)))
		}
		return fmt.Sprintf("NewView v=%d vcs=[%s] pps=[%s]", m.View, strings.Join(ids, " "), strings.Join(pps, " "))
	}
	return m.Type().String()
}

func (h *harness) describeCerts(certs []PrepareInfo) string {
	var cs []string
	for _, p := range certs {
		var by []string
		for id := range p.Prepares {
			by = append(by, string(id))
		}
		slices.Sort(by)
		cs = append(cs, fmt.Sprintf("%d:%s@%d/%s", p.SequenceNumber, h.name(p.Digest), p.View, strings.Join(by, "")))
	}
	return strings.Join(cs, " ")
}

func (h *harness) state() string {
	r := h.r
	var pending []string
	for _, d := range r.order {
		pending = append(pending, h.name(d))
	}
	timer := "none"
	if r.timer {
		timer = r.timerAt.Sub(t0).String()
	}
	return fmt.Sprintf("view=%d active=%v primary=%s sequence=%d last-executed=%d pending=[%s] timer=%s",
		r.View(), r.Active(), string(r.Primary()), r.sequence, r.LastExecuted(), strings.Join(pending, " "), timer)
}

// args reads a case's arguments and remembers which were used, so a typo fails the test.
type args struct {
	c    *datadriven.Case
	used map[string]bool
	err  error
}

func (a *args) str(k, def string) string {
	v, ok := a.c.Args[k]
	if !ok {
		return def
	}
	a.used[k] = true
	return v
}

func (a *args) int(k string, def int) int {
	v := a.str(k, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		a.err = errors.Join(a.err, fmt.Errorf("%s: %w", k, err))
	}
	return n
}

func (a *args) dur(k string, def time.Duration) time.Duration {
	v := a.str(k, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		a.err = errors.Join(a.err, fmt.Errorf("%s: %w", k, err))
	}
	return d
}

// at is the command's time: at= as an offset from t0, or prev.
func (a *args) at(prev time.Time) time.Time {
	if _, ok := a.c.Args["at"]; !ok {
		return prev
	}
	return t0.Add(a.dur("at", 0))
}

func (a *args) unused() error {
	for _, k := range a.c.Keys {
		if !a.used[k] {
			return fmt.Errorf("unknown argument %q", k)
		}
	}
	return nil
}
