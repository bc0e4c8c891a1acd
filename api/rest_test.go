package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/messages"
)

// Peer IDs of the spec's examples (Ed25519 keys whose seed is one repeated byte).
const (
	worker1 = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"
	worker2 = "12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba"
	worker3 = "12D3KooWPT98FXMfDQYavZm66EeVjTqP9Nnehn1gyaydqV8L8BQw"
	testID  = "b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c"
)

// fakeHead records what the handlers asked and answers with the functions it was given.
type fakeHead struct {
	execute func(ctx context.Context, req messages.ExecutionRequest) (messages.ExecutionResponse, error)
	install func(ctx context.Context, manifestURL, cid, topic string) error
	results map[string]messages.ResultMap

	mu       sync.Mutex
	executed []messages.ExecutionRequest
	installs []installCall
}

type installCall struct{ manifestURL, cid, topic string }

func (f *fakeHead) Execute(ctx context.Context, req messages.ExecutionRequest) (messages.ExecutionResponse, error) {
	f.mu.Lock()
	f.executed = append(f.executed, req)
	f.mu.Unlock()
	if f.execute == nil {
		return messages.ExecutionResponse{}, errors.New("fake: no execute")
	}
	return f.execute(ctx, req)
}

func (f *fakeHead) Install(ctx context.Context, manifestURL, cid, topic string) error {
	f.mu.Lock()
	f.installs = append(f.installs, installCall{manifestURL, cid, topic})
	f.mu.Unlock()
	if f.install == nil {
		return nil
	}
	return f.install(ctx, manifestURL, cid, topic)
}

func (f *fakeHead) Result(id string) (messages.ResultMap, bool) {
	res, ok := f.results[id]
	return res, ok
}

func (f *fakeHead) calls() ([]messages.ExecutionRequest, []installCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]messages.ExecutionRequest(nil), f.executed...), append([]installCall(nil), f.installs...)
}

func mustPeer(t testing.TB, s string) peer.ID {
	t.Helper()
	id, err := peer.Decode(s)
	if err != nil {
		t.Fatalf("decode peer ID %q: %v", s, err)
	}
	return id
}

// testHandler builds the handler with a Head (nil for a worker) and a short install timeout.
func testHandler(head Head, installTimeout time.Duration) http.Handler {
	cfg := DefaultConfig()
	cfg.InstallTimeout = installTimeout
	return newHandler(cfg, Deps{Gatherer: prometheus.NewRegistry(), Head: head, NodeID: "test", Role: "head"}, public)
}

// post sends body to path and returns the status and body, checking the content type.
func post(t *testing.T, h http.Handler, path, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("POST %s: Content-Type = %q, want application/json", path, ct)
	}
	return rec.Code, rec.Body.String()
}

func TestExecute_ReturnsResponseJSON(t *testing.T) {
	w1, w2, w3 := mustPeer(t, worker1), mustPeer(t, worker2), mustPeer(t, worker3)
	head := &fakeHead{execute: func(_ context.Context, _ messages.ExecutionRequest) (messages.ExecutionResponse, error) {
		hello := messages.RuntimeOutput{Stdout: "Hello, world!\n"}
		return messages.ExecutionResponse{
			Cluster:   messages.Cluster{Peers: []peer.ID{w1, w2, w3}},
			Code:      messages.CodeOK,
			RequestID: testID,
			Results: messages.Aggregate(messages.ResultMap{
				w1: {ExecutionResult: messages.ExecutionResult{Code: messages.CodeOK, Result: hello}},
				w2: {ExecutionResult: messages.ExecutionResult{Code: messages.CodeOK, Result: hello}},
				w3: {ExecutionResult: messages.ExecutionResult{Code: messages.CodeOK, Result: messages.RuntimeOutput{Stdout: "Hi\n"}}},
			}),
		}, nil
	}}
	body := `{"function_id":"bafy","method":"hello.wasm","parameters":[{"value":"a"}],` +
		`"config":{"runtime":{"limited_fuel":5},"stdin":"in","number_of_nodes":3},"topic":"t"}`

	status, got := post(t, testHandler(head, time.Second), PathExecute, body)

	want := `{"cluster":{"peers":["` + worker1 + `","` + worker2 + `","` + worker3 + `"]},"code":"200",` +
		`"request_id":"` + testID + `","results":[` +
		`{"result":{"stdout":"Hello, world!\n","stderr":"","exit_code":0},"peers":["` + worker1 + `","` + worker2 + `"],"frequency":66.66666666666667},` +
		`{"result":{"stdout":"Hi\n","stderr":"","exit_code":0},"peers":["` + worker3 + `"],"frequency":33.333333333333336}]}` + "\n"
	if status != http.StatusOK || got != want {
		t.Fatalf("got %d %s\nwant 200 %s", status, got, want)
	}
	executed, _ := head.calls()
	stdin := "in"
	wantReq := messages.ExecutionRequest{
		FunctionID: "bafy", Method: "hello.wasm", Parameters: []messages.Parameter{{Value: "a"}},
		Config: messages.Config{Runtime: messages.RuntimeConfig{Fuel: 5}, Stdin: &stdin, NumberOfNodes: 3},
		Topic:  "t",
	}
	if len(executed) != 1 || !sameJSON(t, executed[0], wantReq) {
		t.Fatalf("Execute got %+v, want %+v", executed, wantReq)
	}
}

func TestExecute_NonOKCodeKeepsMessage(t *testing.T) {
	head := &fakeHead{execute: func(context.Context, messages.ExecutionRequest) (messages.ExecutionResponse, error) {
		return messages.ExecutionResponse{Code: messages.CodeTimeout, Message: "roll call timed out", RequestID: testID}, nil
	}}
	status, got := post(t, testHandler(head, time.Second), PathExecute, `{"function_id":"f","method":"m"}`)
	want := `{"cluster":{},"code":"408","message":"roll call timed out","request_id":"` + testID + `"}` + "\n"
	if status != http.StatusOK || got != want {
		t.Fatalf("got %d %s, want 200 %s", status, got, want)
	}
}

func TestExecute_RejectsBadBodies(t *testing.T) {
	cases := []struct {
		name, body, message string
	}{
		{"empty", "", "empty body"},
		{"invalid JSON", `{"function_id":`, "invalid JSON"},
		{"trailing data", `{"function_id":"f","method":"m"} x`, "invalid JSON"},
		{"not an object", `["f","m"]`, "body is not a JSON object"},
		{"wrong field type", `{"function_id":"f","method":"m","config":{"timeout":"5"}}`, `field "config.timeout" is a JSON string, want int`},
		{"empty function_id", `{"method":"m"}`, "function_id is empty"},
		{"empty method", `{"function_id":"f"}`, "method is empty"},
		{"too deep", `{"function_id":"f","method":"m","x":` + nested(MaxJSONDepth) + `}`, "JSON nests deeper than the limit of 32 levels"},
		{"too deep in an array", `{"parameters":` + strings.Repeat("[", 100_000) + `}`, "JSON nests deeper than the limit of 32"},
		{"unknown consensus", `{"function_id":"f","method":"m","config":{"consensus_algorithm":"paxos"}}`,
			`unknown consensus algorithm "paxos": want one of "", "raft", "pbft" (any case)`},
		{"timeout above the bound", `{"function_id":"f","method":"m","config":{"timeout":61}}`,
			"config.timeout: 61 s is above the maximum 60 s (the head's max-request-timeout)"},
		{"every problem at once", `{"config":{"timeout":1000,"consensus_algorithm":"x"}}`,
			"function_id is empty; method is empty; unknown consensus algorithm"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := &fakeHead{}
			status, got := post(t, testHandler(head, time.Second), PathExecute, tc.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (body %s)", status, got)
			}
			if msg := decodeMessage(t, got); !strings.Contains(msg, tc.message) {
				t.Fatalf("message %q does not say %q", msg, tc.message)
			}
			if executed, _ := head.calls(); len(executed) != 0 {
				t.Fatalf("Execute called with %+v", executed)
			}
		})
	}
}

// nested is a JSON value that nests objects and arrays depth levels deep, with brackets and
// escaped quotes inside its strings that must not count.
func nested(depth int) string {
	var b strings.Builder
	for i := range depth {
		if i%2 == 0 {
			b.WriteString(`{"k[{\"":`)
		} else {
			b.WriteString(`["]}",`)
		}
	}
	b.WriteString(`"v"`)
	for i := depth - 1; i >= 0; i-- {
		if i%2 == 0 {
			b.WriteString("}")
		} else {
			b.WriteString("]")
		}
	}
	return b.String()
}

// Requests at the limits are passed to the Head as they came: the deepest nesting allowed, the
// longest timeout allowed, and the consensus algorithms the head knows (it answers those itself).
func TestExecute_AcceptsRequestsAtTheLimits(t *testing.T) {
	cases := map[string]string{
		"nested to the limit":  `{"function_id":"f","method":"m","x":` + nested(MaxJSONDepth-1) + `}`,
		"timeout at the bound": `{"function_id":"f","method":"m","config":{"timeout":60}}`,
		"raft":                 `{"function_id":"f","method":"m","config":{"consensus_algorithm":"Raft"}}`,
		"pbft":                 `{"function_id":"f","method":"m","config":{"consensus_algorithm":"pbft"}}`,
		"body at the limit":    `{"function_id":"f","method":"m"}` + strings.Repeat(" ", MaxBodyBytes-len(`{"function_id":"f","method":"m"}`)),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			head := &fakeHead{execute: func(context.Context, messages.ExecutionRequest) (messages.ExecutionResponse, error) {
				return messages.ExecutionResponse{Code: messages.CodeOK, RequestID: testID}, nil
			}}
			if status, got := post(t, testHandler(head, time.Second), PathExecute, body); status != http.StatusOK {
				t.Fatalf("status %d, want 200 (body %s)", status, got)
			}
			if executed, _ := head.calls(); len(executed) != 1 {
				t.Fatalf("Execute called %d times", len(executed))
			}
		})
	}
}

// The bound on config.timeout is the handler's setting, not a constant.
func TestExecute_TimeoutBoundIsTheSetting(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRequestTimeout = 5 * time.Second
	head := &fakeHead{execute: func(context.Context, messages.ExecutionRequest) (messages.ExecutionResponse, error) {
		return messages.ExecutionResponse{Code: messages.CodeOK}, nil
	}}
	h := NewHandler(cfg, Deps{Gatherer: prometheus.NewRegistry(), Head: head})
	if status, got := post(t, h, PathExecute, `{"function_id":"f","method":"m","config":{"timeout":5}}`); status != http.StatusOK {
		t.Fatalf("timeout 5: %d %s", status, got)
	}
	status, got := post(t, h, PathExecute, `{"function_id":"f","method":"m","config":{"timeout":6}}`)
	if msg := decodeMessage(t, got); status != http.StatusBadRequest || !strings.Contains(msg, "maximum 5 s") {
		t.Fatalf("timeout 6: %d %s", status, got)
	}
}

// A body over MaxBodyBytes is 413 with a message naming the limit, on every function path.
func TestFunctionPaths_BodyOverTheLimitIs413(t *testing.T) {
	tooBig := `{"function_id":"` + strings.Repeat("a", MaxBodyBytes) + `","method":"m","cid":"c","id":"i"}`
	for _, path := range []string{PathExecute, PathInstall, PathResult} {
		head := &fakeHead{}
		status, got := post(t, testHandler(head, time.Second), path, tooBig)
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: status %d, want 413 (body %.200s)", path, status, got)
		}
		if msg := decodeMessage(t, got); msg != "request body is over the limit of 1048576 bytes" {
			t.Fatalf("%s: message %q", path, msg)
		}
		if executed, installs := head.calls(); len(executed)+len(installs) != 0 {
			t.Fatalf("%s: the Head was called", path)
		}
	}
}

// The 413 comes before the body is read in full: a client that declares a large body, or keeps
// sending chunks past the limit, gets its answer while it still has most of the body to send.
// Raw TCP, so that nothing on the client side buffers or waits for the whole body.
func TestExecute_BodyOverTheLimitIsRefusedBeforeItIsRead(t *testing.T) {
	head := &fakeHead{}
	srv := httptest.NewServer(testHandler(head, time.Second))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	cases := map[string]struct {
		headers string
		body    func(w io.Writer) error // written after the headers; the test never finishes the body
	}{
		"declared": {
			headers: fmt.Sprintf("Content-Length: %d\r\n", 64*MaxBodyBytes),
			body:    func(w io.Writer) error { _, err := io.WriteString(w, `{"function_id":"`); return err },
		},
		"chunked": {
			headers: "Transfer-Encoding: chunked\r\n",
			body: func(w io.Writer) error {
				chunk := strings.Repeat("a", 64<<10)
				for range MaxBodyBytes/len(chunk) + 2 {
					if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
						return err
					}
				}
				return nil
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			req := "POST " + PathExecute + " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n" + tc.headers + "\r\n"
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			// The body is written while the answer is read: the server stops reading at the
			// limit, so the last writes may wait until the connection is closed.
			written := make(chan error, 1)
			go func() { written <- tc.body(conn) }()
			defer func() { conn.Close(); <-written }()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer while the body is unfinished: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "over the limit of 1048576 bytes") {
				t.Fatalf("got %d %s, want 413 naming the limit", resp.StatusCode, body)
			}
		})
	}
	if executed, _ := head.calls(); len(executed) != 0 {
		t.Fatalf("Execute called with %+v", executed)
	}
}

func TestCheckDepth(t *testing.T) {
	cases := []struct {
		json  string
		limit int
		ok    bool
	}{
		{`{}`, 1, true},
		{`{"a":{}}`, 1, false},
		{`{"a":[1,{"b":[]}]}`, 4, true},
		{`{"a":[1,{"b":[]}]}`, 3, false},
		{`{"a":"[[[[{{{{"}`, 1, true},
		{`{"a":"\"[[[[","b":"\\"}`, 1, true},
		{`{"a":"\\"}` + `[[`, 1, false}, // the backslash is escaped, not the quote
		{`{"a":[]}{"b":[]}`, 2, true},   // depth is per value; trailing data is the decoder's to refuse
		{`]]]]{"a":{}}`, 1, false},      // malformed, and still not deeper for closing first
	}
	for _, tc := range cases {
		if err := checkDepth([]byte(tc.json), tc.limit); (err == nil) != tc.ok {
			t.Errorf("checkDepth(%s, %d) = %v, want ok=%v", tc.json, tc.limit, err, tc.ok)
		}
	}
}

func TestExecute_HeadErrorIs500(t *testing.T) {
	head := &fakeHead{execute: func(context.Context, messages.ExecutionRequest) (messages.ExecutionResponse, error) {
		return messages.ExecutionResponse{RequestID: "r-1"}, errors.New("execution supervisor stopped")
	}}
	var logs bytes.Buffer
	cfg := DefaultConfig()
	h := newHandler(cfg, Deps{Gatherer: prometheus.NewRegistry(), Head: head, NodeID: "test", Role: "head", Log: zerolog.New(&logs)}, public)
	status, got := post(t, h, PathExecute, `{"function_id":"f","method":"m"}`)
	if want := `{"message":"execution supervisor stopped"}` + "\n"; status != http.StatusInternalServerError || got != want {
		t.Fatalf("got %d %s, want 500 %s", status, got, want)
	}
	// The operator's log line names the request, so it can be found in the head's other lines.
	var line struct{ Request, Function, Error string }
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line.Request != "r-1" || line.Function != "f" || line.Error == "" {
		t.Fatalf("log line %q (%v): want request r-1, function f and the error", logs.String(), err)
	}
}

func TestExecute_ClientDisconnectCancelsContext(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	head := &fakeHead{execute: func(ctx context.Context, _ messages.ExecutionRequest) (messages.ExecutionResponse, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return messages.ExecutionResponse{}, ctx.Err()
	}}
	srv := httptest.NewServer(testHandler(head, time.Second))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+PathExecute, strings.NewReader(`{"function_id":"f","method":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()

	waitFor(t, started, "Execute to be called")
	cancel()
	waitFor(t, cancelled, "the context passed to Execute to be cancelled")
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v, want context.Canceled", err)
	}
}

func TestInstall_ByCIDPublishes(t *testing.T) {
	head := &fakeHead{}
	status, got := post(t, testHandler(head, time.Second), PathInstall, `{"cid":"bafy","topic":"t"}`)
	if want := `{"code":"200"}` + "\n"; status != http.StatusOK || got != want {
		t.Fatalf("got %d %s, want 200 %s", status, got, want)
	}
	_, installs := head.calls()
	if want := (installCall{manifestURL: "", cid: "bafy", topic: "t"}); len(installs) != 1 || installs[0] != want {
		t.Fatalf("Install got %+v, want %+v", installs, want)
	}
}

func TestInstall_ByURIDerivesCID(t *testing.T) {
	head := &fakeHead{}
	const uri = "https://example.com/manifest.json"
	status, got := post(t, testHandler(head, time.Second), PathInstall, `{"uri":"`+uri+`"}`)
	if status != http.StatusOK || got != `{"code":"200"}`+"\n" {
		t.Fatalf("got %d %s", status, got)
	}
	_, installs := head.calls()
	// printf %s "$uri" | sha256sum
	want := installCall{manifestURL: uri, cid: "1eb50a3f96621a44c9e3c8172bd36862a719b887e8434c39c3e04e9cd5160a8d"}
	if len(installs) != 1 || installs[0] != want {
		t.Fatalf("Install got %+v, want %+v", installs, want)
	}
}

func TestInstall_SlowPublishAnswers408(t *testing.T) {
	head := &fakeHead{install: func(ctx context.Context, _, _, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	status, got := post(t, testHandler(head, time.Millisecond), PathInstall, `{"cid":"bafy"}`)
	if want := `{"code":"408"}` + "\n"; status != http.StatusOK || got != want {
		t.Fatalf("got %d %s, want 200 %s", status, got, want)
	}
}

func TestInstall_PublishErrorIs500(t *testing.T) {
	head := &fakeHead{install: func(context.Context, string, string, string) error {
		return errors.New("publish on topic blockless/b7s/general: closed")
	}}
	status, got := post(t, testHandler(head, time.Second), PathInstall, `{"cid":"bafy"}`)
	if want := `{"message":"publish on topic blockless/b7s/general: closed"}` + "\n"; status != http.StatusInternalServerError || got != want {
		t.Fatalf("got %d %s, want 500 %s", status, got, want)
	}
}

func TestInstall_RejectsBadBodies(t *testing.T) {
	cases := []struct{ name, body, message string }{
		{"missing cid", `{"topic":"t"}`, "cid is empty"},
		{"invalid JSON", `{"cid":`, "invalid JSON"},
		{"wrong type", `{"cid":5}`, `field "cid" is a JSON number, want string`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := &fakeHead{}
			status, got := post(t, testHandler(head, time.Second), PathInstall, tc.body)
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (body %s)", status, got)
			}
			if msg := decodeMessage(t, got); !strings.Contains(msg, tc.message) {
				t.Fatalf("message %q does not say %q", msg, tc.message)
			}
			if _, installs := head.calls(); len(installs) != 0 {
				t.Fatalf("Install called with %+v", installs)
			}
		})
	}
}

func TestResult_FoundIsRawResultMap(t *testing.T) {
	w1 := mustPeer(t, worker1)
	head := &fakeHead{results: map[string]messages.ResultMap{testID: {
		w1: {ExecutionResult: messages.ExecutionResult{
			Code:   messages.CodeOK,
			Result: messages.RuntimeOutput{Stdout: "hi\n"},
			Usage:  messages.Usage{WallClockTime: 1500 * time.Microsecond},
		}},
	}}}
	status, got := post(t, testHandler(head, time.Second), PathResult, `{"id":"`+testID+`"}`)
	want := `{"` + worker1 + `":{"code":"200","result":{"stdout":"hi\n","stderr":"","exit_code":0},` +
		`"usage":{"wall_clock_time":1500000},"pbft":{"view":0,"request_timestamp":"0001-01-01T00:00:00Z"}}}` + "\n"
	if status != http.StatusOK || got != want {
		t.Fatalf("got %d %s\nwant 200 %s", status, got, want)
	}
}

func TestResult_NotFoundIs404WithEmptyBody(t *testing.T) {
	status, got := post(t, testHandler(&fakeHead{}, time.Second), PathResult, `{"id":"nope"}`)
	if status != http.StatusNotFound || got != "" {
		t.Fatalf("got %d %q, want 404 with an empty body", status, got)
	}
}

func TestResult_MissingIDIs400(t *testing.T) {
	status, got := post(t, testHandler(&fakeHead{}, time.Second), PathResult, `{}`)
	if want := `{"message":"missing request ID"}` + "\n"; status != http.StatusBadRequest || got != want {
		t.Fatalf("got %d %s, want 400 %s", status, got, want)
	}
}

func TestWorker_FunctionPathsAre404(t *testing.T) {
	h := testHandler(nil, time.Second)
	for _, path := range []string{PathExecute, PathInstall, PathResult} {
		status, got := post(t, h, path, `{"function_id":"f","method":"m","cid":"c","id":"i"}`)
		if want := `{"message":"` + workerMessage + `"}` + "\n"; status != http.StatusNotFound || got != want {
			t.Errorf("%s: got %d %s, want 404 %s", path, status, got, want)
		}
	}
}

func TestHealth_IsServedByTheRouteTable(t *testing.T) {
	rec := httptest.NewRecorder()
	testHandler(nil, time.Second).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/health", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK || string(body) != `{"code":200,"type":"MsgHealthCheck"}` {
		t.Fatalf("got %d %s", rec.Code, body)
	}
}

// decodeMessage returns the message of an error body.
func decodeMessage(t *testing.T, body string) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Message == "" {
		t.Fatalf("body %q is not an error message (%v)", body, err)
	}
	return e.Message
}

// sameJSON compares two values by their JSON, which is what the wire sees.
func sameJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// A worker's /debug/actors shows the attestation in use, in JSON and under the text tree; a
// node without one shows none.
func TestActors_ShowTheAttestation(t *testing.T) {
	loaded := time.Date(2024, 11, 5, 10, 0, 0, 0, time.UTC)
	info := &attest.Info{Source: "/etc/b7s/attributes.bin", SHA256: "ab12", LoadedAt: loaded,
		Attributes: []attest.Attribute{{Name: "region", Value: "eu"}}, Signer: mustPeer(t, worker1),
		Attestors: []peer.ID{mustPeer(t, worker2)}, LastError: "load attestation: boom"}
	get := func(d Deps, query string) string {
		rec := httptest.NewRecorder()
		newHandler(DefaultConfig(), d, debug).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathActors+query, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", PathActors+query, rec.Code)
		}
		return rec.Body.String()
	}
	d := Deps{Inspect: inspect.NewRegistry(inspect.DefaultConfig(), nil), Gatherer: prometheus.NewRegistry(), NodeID: worker1, Role: "worker",
		Attestation: func() *attest.Info { return info }}

	var tree ActorTree
	if err := json.Unmarshal([]byte(get(d, "")), &tree); err != nil {
		t.Fatal(err)
	}
	if tree.Attestation == nil || !sameJSON(t, tree.Attestation, info) {
		t.Fatalf("attestation %+v, want %+v", tree.Attestation, info)
	}
	text := get(d, "?format=text")
	for _, want := range []string{"attestation from /etc/b7s/attributes.bin (sha256 ab12, loaded 2024-11-05T10:00:00Z)",
		"  region=eu\n", "  signed by " + worker1, "  attested by " + worker2, "  last reload failed: load attestation: boom"} {
		if !strings.Contains(text, want) {
			t.Errorf("text tree lacks %q:\n%s", want, text)
		}
	}

	for name, none := range map[string]func() *attest.Info{"no attestation": func() *attest.Info { return nil }, "head": nil} {
		d.Attestation = none
		if body := get(d, ""); strings.Contains(body, `"attestation"`) {
			t.Errorf("%s: %s", name, body)
		}
		if body := get(d, "?format=text"); strings.Contains(body, "attestation") {
			t.Errorf("%s: %s", name, body)
		}
	}
}
