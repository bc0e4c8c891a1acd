package actors

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

func testIdentity(t *testing.T) (crypto.PrivKey, peer.ID) {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, id
}

// A head counts a PBFT result only when its sender signed it and names itself as the replica.
func TestPBFTResultValid(t *testing.T) {
	key, id := testIdentity(t)
	otherKey, other := testIdentity(t)
	signed := func(replica peer.ID, k crypto.PrivKey, edit func(*messages.NodeResult)) messages.NodeResult {
		r := messages.NodeResult{ExecutionResult: messages.ExecutionResult{Code: messages.CodeOK,
			Result: messages.RuntimeOutput{Stdout: "out"}}, PBFT: messages.PBFTResultInfo{View: 1,
			RequestTimestamp: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Replica: replica}}
		if err := r.Sign(k); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(&r)
		}
		return r
	}
	cases := []struct {
		name    string
		res     messages.NodeResult
		present bool
		want    string // "" valid, else part of the error
	}{
		{"valid", signed(id, key, nil), true, ""},
		{"missing", messages.NodeResult{}, false, "no result"},
		{"unsigned", signed(id, key, func(r *messages.NodeResult) { r.Signature = "" }), true, "signature"},
		{"signed by another key", signed(id, otherKey, nil), true, "signature"},
		{"names another replica", signed(other, key, nil), true, "names replica"},
		{"tampered output", signed(id, key, func(r *messages.NodeResult) { r.Result.Stdout = "forged" }), true, "signature"},
		{"tampered timestamp", signed(id, key, func(r *messages.NodeResult) { r.PBFT.RequestTimestamp = time.Time{} }), true, "signature"},
	}
	for _, c := range cases {
		err := pbftResultValid(id, c.res, c.present)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want an error about %q", c.name, err, c.want)
		}
	}
}
