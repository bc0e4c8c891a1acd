package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/b7s-actor/b7s/messages"
)

// restSeeds are bodies of every function path: valid ones, ones at and past each limit, and the
// shapes the unit tests refuse.
var restSeeds = []string{
	`{"function_id":"bafy","method":"hello.wasm","parameters":[{"value":"a"}],"config":{"runtime":{"limited_fuel":5},"stdin":"in","number_of_nodes":3},"topic":"t"}`,
	`{"function_id":"f","method":"m","config":{"env_vars":[{"name":"A","value":"b"}],"permissions":["https://x"],"attributes":{"values":[{"name":"region","value":"eu"}],"attestation_required":true,"attestors":{"each":["12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"],"one_of":[]}},"timeout":60,"consensus_algorithm":"pbft","threshold":0.75}}`,
	`{"function_id":"f","method":"m","config":{"timeout":61,"consensus_algorithm":"paxos"}}`,
	`{"function_id":"f","method":"m","x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"function_id":"f","method":"m","x":"[[[[\"{{{{"}`,
	`{"cid":"bafy","uri":"https://example.com/manifest.json","topic":"t"}`,
	`{"uri":"https://example.com/manifest.json"}`,
	`{"id":"b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c"}`,
	`{"function_id":`, `{"function_id":"f","method":"m"} x`, `["f","m"]`, ``, `{}`, `{"cid":5}`,
	`{"function_id":"f","method":"m","config":{"timeout":"5"}}`,
	`{"function_id":"f","method":"m","config":{"attributes":{"attestors":{"each":["not a peer"]}}}}`,
}

// FuzzDecodeBody: no body crashes the decoder of any of the three request types; the depth scan
// agrees exactly with the nesting of every valid JSON body; and what decodes has a stable form,
// re-encoded and decoded again to the same value. testdata/fuzz/FuzzDecodeBody keeps what it
// found: number-overflows-float64 broke the reference depth count, not the handlers.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range restSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if trimmed := bytes.TrimSpace(body); json.Valid(trimmed) {
			depth := jsonDepth(t, trimmed)
			if err := checkDepth(trimmed, MaxJSONDepth); (err == nil) != (depth <= MaxJSONDepth) {
				t.Fatalf("checkDepth says %v for JSON nested %d deep (limit %d)", err, depth, MaxJSONDepth)
			}
		}
		checkStable[messages.ExecutionRequest](t, body, "execution request")
		checkStable[messages.InstallFunctionRequest](t, body, "install request")
		checkStable[messages.ResultRequest](t, body, "result request")
	})
}

// checkStable decodes body as a T the way the handlers do and, when that succeeds, checks that
// the value survives being encoded and decoded, and that its Valid does not panic.
func checkStable[T any](t *testing.T, body []byte, what string) {
	t.Helper()
	var first T
	if err := decodeJSON(body, what, &first); err != nil {
		if err.Error() == "" {
			t.Fatalf("%s: an empty error message", what)
		}
		return
	}
	if !json.Valid(bytes.TrimSpace(body)) {
		t.Fatalf("%s: decoded a body that is not valid JSON: %q", what, body)
	}
	if checkDepth(bytes.TrimSpace(body), MaxJSONDepth) != nil {
		t.Fatalf("%s: decoded a body nested deeper than %d", what, MaxJSONDepth)
	}
	if v, ok := any(first).(interface{ Valid() error }); ok {
		_ = v.Valid()
	}
	wire, err := json.Marshal(first)
	if err != nil {
		t.Fatalf("%s: decoded %+v but cannot encode it: %v", what, first, err)
	}
	var second T
	if err := decodeJSON(wire, what, &second); err != nil {
		t.Fatalf("%s: own encoding does not decode: %v\n%s", what, err, wire)
	}
	again, err := json.Marshal(second)
	if err != nil || !bytes.Equal(wire, again) {
		t.Fatalf("%s: encoding is not stable (%v)\nfirst:  %s\nsecond: %s", what, err, wire, again)
	}
}

// jsonDepth is the nesting depth of valid JSON, from the standard decoder's tokens: the
// reference the scan is checked against.
func jsonDepth(t *testing.T, data []byte) int {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a number too large for a float64 is still valid JSON
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest
		}
		if err != nil {
			t.Fatalf("tokens of valid JSON %q: %v", data, err)
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
				deepest = max(deepest, depth)
			default:
				depth--
			}
		}
	}
}

// fuzzPaths are the function paths FuzzHandlers posts to, picked by the input's first byte.
var fuzzPaths = []string{PathExecute, PathInstall, PathResult}

// FuzzHandlers drives the head's function paths end to end, through the route table, with a
// fake Head that always succeeds. Whatever the body: no panic; a JSON answer with a status the
// path may give (never 500, since the Head never fails); a message with every error; and the
// Head is called exactly when the answer is 200, with a request that passed every check of the
// door (valid, within the timeout bound, not too deep).
func FuzzHandlers(f *testing.F) {
	for i, s := range restSeeds {
		f.Add(uint8(i%len(fuzzPaths)), []byte(s), false)
		f.Add(uint8(i%len(fuzzPaths)), []byte(s), true)
	}
	cfg := DefaultConfig()
	cfg.InstallTimeout = time.Second
	maxSeconds := int(cfg.MaxRequestTimeout / time.Second)
	f.Fuzz(func(t *testing.T, pathIndex uint8, body []byte, chunked bool) {
		path := fuzzPaths[int(pathIndex)%len(fuzzPaths)]
		head := &fakeHead{
			execute: func(_ context.Context, req messages.ExecutionRequest) (messages.ExecutionResponse, error) {
				return messages.ExecutionResponse{Code: messages.CodeOK, RequestID: testID}, nil
			},
			results: map[string]messages.ResultMap{testID: {}},
		}
		h := NewHandler(cfg, Deps{Gatherer: prometheus.NewRegistry(), Head: head})
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		if chunked {
			req.ContentLength = -1 // unknown length: only the reader can stop it
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: Content-Type %q", path, ct)
		}
		executed, installs := head.calls()
		called := len(executed) + len(installs)
		switch status := rec.Code; {
		case status == http.StatusOK:
			if path != PathResult && called != 1 {
				t.Fatalf("%s: 200 with the Head called %d times", path, called)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s: 200 with a body that is not JSON: %q", path, rec.Body)
			}
		case status == http.StatusNotFound && path == PathResult:
			if rec.Body.Len() != 0 || called != 0 {
				t.Fatalf("%s: 404 with body %q, Head called %d times", path, rec.Body, called)
			}
		case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge:
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Message == "" || strings.Contains(e.Message, "\n") {
				t.Fatalf("%s: %d without a one-line message: %q", path, status, rec.Body)
			}
			if status == http.StatusRequestEntityTooLarge && len(body) <= MaxBodyBytes {
				t.Fatalf("%s: 413 for a body of %d bytes", path, len(body))
			}
			if called != 0 {
				t.Fatalf("%s: %d, yet the Head was called", path, status)
			}
		default:
			t.Fatalf("%s: status %d: %s", path, status, rec.Body)
		}

		for _, r := range executed {
			if err := r.Valid(); err != nil {
				t.Fatalf("the Head got an invalid request: %v", err)
			}
			if r.Config.Timeout > maxSeconds {
				t.Fatalf("the Head got timeout %d above the bound %d", r.Config.Timeout, maxSeconds)
			}
			var direct messages.ExecutionRequest
			if err := json.Unmarshal(bytes.TrimSpace(body), &direct); err != nil || !reflect.DeepEqual(direct, r) {
				t.Fatalf("the Head got %+v, the body says %+v (%v)", r, direct, err)
			}
		}
		for _, in := range installs {
			if in.cid == "" {
				t.Fatalf("Install called without a CID: %+v", in)
			}
		}
	})
}
