package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/messages"
)

// Peer IDs of the spec's examples (Ed25519 keys whose seed is one repeated byte).
const (
	workerA = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"
	workerB = "12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba"
	reqID   = "b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c"
)

func mustPeer(t *testing.T, s string) peer.ID {
	t.Helper()
	id, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fakeHead is the api.Head of the real handler in these tests: canned answers, recorded calls.
type fakeHead struct {
	mu       sync.Mutex
	executed []messages.ExecutionRequest
	installs [][3]string
	resp     messages.ExecutionResponse
	results  map[string]messages.ResultMap
}

func (h *fakeHead) Execute(_ context.Context, req messages.ExecutionRequest) (messages.ExecutionResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.executed = append(h.executed, req)
	return h.resp, nil
}

func (h *fakeHead) Install(_ context.Context, manifestURL, cid, topic string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.installs = append(h.installs, [3]string{manifestURL, cid, topic})
	return nil
}

func (h *fakeHead) Result(id string) (messages.ResultMap, bool) {
	r, ok := h.results[id]
	return r, ok
}

// serveNode runs the node's real HTTP handler; head nil makes it a worker.
func serveNode(t *testing.T, head api.Head) *httptest.Server {
	t.Helper()
	deps := api.Deps{Inspect: inspect.NewRegistry(inspect.DefaultConfig(), nil), Gatherer: prometheus.NewRegistry(), NodeID: workerA, Role: "worker", Log: zerolog.Nop()}
	if head != nil {
		deps.Head, deps.Role = head, "head"
	}
	// One server for both of a node's addresses: the public handler, and the debug one for
	// what only it serves.
	mux := http.NewServeMux()
	mux.Handle("/", api.NewHandler(api.DefaultConfig(), deps))
	debug := api.NewDebugHandler(api.DefaultConfig(), deps)
	mux.Handle("/debug/", debug)
	mux.Handle(api.PathMetrics, debug)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// serveFunc answers every request with h.
func serveFunc(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestExecute_SendsTheRequestAndDecodesTheAnswer(t *testing.T) {
	a, b := mustPeer(t, workerA), mustPeer(t, workerB)
	head := &fakeHead{resp: messages.ExecutionResponse{
		Code: messages.CodeOK, RequestID: reqID, Cluster: messages.Cluster{Peers: []peer.ID{a, b}},
		Results: []messages.AggregatedResult{{Result: messages.RuntimeOutput{Stdout: "hello\n"}, Peers: []peer.ID{a, b}, Frequency: 100}},
	}}
	c := New(serveNode(t, head).URL)
	stdin := "hi"
	req := messages.ExecutionRequest{FunctionID: "bafy", Method: "hello.wasm", Parameters: []messages.Parameter{{Value: "world"}},
		Config: messages.Config{Stdin: &stdin, NumberOfNodes: 2}}
	got, err := c.Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, head.resp) {
		t.Errorf("answer %+v\nwant %+v", got, head.resp)
	}
	if len(head.executed) != 1 || !reflect.DeepEqual(head.executed[0], req) {
		t.Errorf("head got %+v, want %+v", head.executed, req)
	}
}

func TestInstall_SendsTheRequestAndDecodesTheCode(t *testing.T) {
	head := &fakeHead{}
	c := New(serveNode(t, head).URL)
	got, err := c.Install(context.Background(), messages.InstallFunctionRequest{CID: "bafy", URI: "http://127.0.0.1:1/m.json", Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != messages.CodeOK {
		t.Errorf("code %s, want 200", got.Code)
	}
	if want := [][3]string{{"http://127.0.0.1:1/m.json", "bafy", "t"}}; !reflect.DeepEqual(head.installs, want) {
		t.Errorf("head installed %v, want %v", head.installs, want)
	}
}

func TestResult_DecodesTheMapAndReportsNotFound(t *testing.T) {
	a := mustPeer(t, workerA)
	want := messages.ResultMap{a: {ExecutionResult: messages.ExecutionResult{Code: messages.CodeOK, Result: messages.RuntimeOutput{Stdout: "hi"}}}}
	c := New(serveNode(t, &fakeHead{results: map[string]messages.ResultMap{reqID: want}}).URL)
	got, err := c.Result(context.Background(), reqID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[a].Result.Stdout != "hi" || got[a].Code != messages.CodeOK {
		t.Errorf("result %+v, want %+v", got, want)
	}

	_, err = c.Result(context.Background(), "no-such-request")
	var httpErr *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &httpErr) || httpErr.Status != http.StatusNotFound {
		t.Fatalf("unknown request: err = %v, want ErrNotFound and a 404 *Error", err)
	}
	if !strings.Contains(err.Error(), "no-such-request") {
		t.Errorf("err %q does not name the request", err)
	}
}

func TestError_CarriesStatusAndTheNodesMessage(t *testing.T) {
	srv := serveNode(t, nil) // a worker: the function paths answer 404 with a reason
	_, err := New(srv.URL).Execute(context.Background(), messages.ExecutionRequest{FunctionID: "f", Method: "m"})
	var httpErr *Error
	if !errors.As(err, &httpErr) {
		t.Fatalf("err = %v (%T), want an *Error", err, err)
	}
	want := Error{Method: http.MethodPost, URL: srv.URL + api.PathExecute, Status: http.StatusNotFound, Message: "this node is a worker; send requests to a head"}
	if *httpErr != want {
		t.Errorf("error %+v\nwant %+v", *httpErr, want)
	}
	if s := err.Error(); s != "POST "+srv.URL+api.PathExecute+": 404 Not Found: this node is a worker; send requests to a head" {
		t.Errorf("Error() = %q", s)
	}
	if errors.Is(err, ErrNotFound) {
		t.Error("a 404 of execute wraps ErrNotFound, which is Result's")
	}
}

func TestError_NonJSONBodyIsTheMessage(t *testing.T) {
	srv := serveFunc(t, answer(http.StatusBadGateway, "text/plain", "  upstream went away\n"))
	_, err := New(srv.URL).Install(context.Background(), messages.InstallFunctionRequest{CID: "c"})
	var httpErr *Error
	if !errors.As(err, &httpErr) || httpErr.Status != http.StatusBadGateway || httpErr.Message != "upstream went away" {
		t.Fatalf("err = %#v, want 502 with the trimmed body as message", err)
	}

	long := strings.Repeat("é", 1000) // 2000 bytes: cut at 1 KiB on a character boundary
	srv = serveFunc(t, answer(http.StatusInternalServerError, "text/plain", long))
	err = New(srv.URL).Health(context.Background())
	if !errors.As(err, &httpErr) || len(httpErr.Message) > maxMessageBytes+len("…") || !strings.HasSuffix(httpErr.Message, "é…") {
		t.Fatalf("long body: message %q", httpErr.Message)
	}
}

func TestMalformedAnswer_IsAClearError(t *testing.T) {
	srv := serveFunc(t, answer(http.StatusOK, "application/json", `{"code":"200","results":[`))
	_, err := New(srv.URL).Execute(context.Background(), messages.ExecutionRequest{FunctionID: "f", Method: "m"})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	for _, want := range []string{"POST " + srv.URL + api.PathExecute, "decode execution response", `{\"code\":\"200\"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
	var httpErr *Error
	if errors.As(err, &httpErr) {
		t.Error("a malformed 200 is reported as an HTTP error")
	}

	srv = serveFunc(t, answer(http.StatusOK, "text/html", "<html>proxy login</html>"))
	if err := New(srv.URL).Health(context.Background()); !errors.Is(err, ErrMalformed) {
		t.Errorf("HTML health answer: err = %v, want ErrMalformed", err)
	}
	srv = serveFunc(t, answer(http.StatusOK, "application/json", `{"code":503}`))
	if err := New(srv.URL).Health(context.Background()); err == nil || !strings.Contains(err.Error(), "health code 503") {
		t.Errorf("health code 503: err = %v", err)
	}
}

// serveBlocking answers only once the client has gone away, or the test ends. The body is
// read first: net/http notices a client going away only once the body is read to EOF.
func serveBlocking(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := serveFunc(t, func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close, which waits for handlers
	return srv
}

func TestDeadline_OfTheContextIsHonoured(t *testing.T) {
	srv := serveBlocking(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(srv.URL).Execute(ctx, messages.ExecutionRequest{FunctionID: "f", Method: "m"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), srv.URL+api.PathExecute) {
		t.Errorf("err %q does not name the URL", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("call returned after %v", d)
	}
}

func TestDeadline_OfWithTimeoutBoundsACallWithoutOne(t *testing.T) {
	srv := serveBlocking(t)
	err := New(srv.URL, WithTimeout(50*time.Millisecond)).Health(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if c := New("127.0.0.1:1"); c.timeout != DefaultTimeout || c.maxBytes != MaxResponseBytes || MaxResponseBytes != 256<<20 {
		t.Errorf("defaults: timeout %v, bound %d", c.timeout, c.maxBytes)
	}
}

func TestOversizedAnswer_IsRefused(t *testing.T) {
	body := `{"code":"200","request_id":"` + strings.Repeat("x", 2000) + `"}`
	srv := serveFunc(t, answer(http.StatusOK, "application/json", body))
	c := New(srv.URL)
	c.maxBytes = int64(len(body)) - 1
	if _, err := c.Execute(context.Background(), messages.ExecutionRequest{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, _, err := c.PostRaw(context.Background(), api.PathExecute, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("PostRaw: err = %v, want ErrTooLarge", err)
	}
	c.maxBytes = int64(len(body)) // exactly at the bound is fine
	if _, err := c.Execute(context.Background(), messages.ExecutionRequest{}); err != nil {
		t.Fatalf("answer at the bound: %v", err)
	}
}

func TestBase_Forms(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":                "http://127.0.0.1:8080",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
		"http://127.0.0.1:8080/":        "http://127.0.0.1:8080",
		"https://node.example:443/b7s/": "https://node.example:443/b7s",
		" localhost:9 ":                 "http://localhost:9",
	} {
		if got := New(in).Base(); got != want {
			t.Errorf("New(%q).Base() = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", "ftp://127.0.0.1:21", "http://", "http://127.0.0.1:8080/?x=1", "http://u:p@127.0.0.1:8080"} {
		if _, err := ParseBase(bad); err == nil {
			t.Errorf("ParseBase(%q) accepted", bad)
		}
		err := New(bad).Health(context.Background())
		if err == nil || !strings.Contains(err.Error(), "node address") {
			t.Errorf("New(%q).Health: err = %v, want the address refused", bad, err)
		}
	}
}

func TestBase_HostPortAndPrefixReachThePaths(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.RequestURI())
		mu.Unlock()
		answer(http.StatusOK, "application/json", `{"type":"MsgHealthCheck","code":200}`)(w, r)
	})
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, base := range []string{host, srv.URL + "/", srv.URL + "/prefix/"} {
		if err := New(base).Health(context.Background()); err != nil {
			t.Errorf("%s: %v", base, err)
		}
	}
	want := []string{"/api/v1/health", "/api/v1/health", "/prefix/api/v1/health"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths %v, want %v", paths, want)
	}
}

func TestNodePaths_HealthActorsMetricsOnAWorker(t *testing.T) {
	c := New(serveNode(t, nil).URL)
	ctx := context.Background()
	if err := c.Health(ctx); err != nil {
		t.Errorf("health: %v", err)
	}
	tree, err := c.Actors(ctx)
	if err != nil || tree.Node != workerA || tree.Role != "worker" || tree.Time.IsZero() {
		t.Errorf("actors: %+v, %v", tree, err)
	}
	if _, err := c.ActorsText(ctx); err != nil {
		t.Errorf("actors text: %v", err)
	}
	if _, err := c.Metrics(ctx); err != nil {
		t.Errorf("metrics: %v", err)
	}
}

func TestPostRaw_ReturnsAnyStatusAndSendsJSON(t *testing.T) {
	c := New(serveNode(t, &fakeHead{}).URL)
	status, body, err := c.PostRaw(context.Background(), api.PathExecute, []byte(`[1,2]`))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusBadRequest || !strings.Contains(string(body), "not a JSON object") {
		t.Errorf("got %d %s, want 400 naming the problem", status, body)
	}

	var contentType string
	srv := serveFunc(t, func(w http.ResponseWriter, r *http.Request) {
		contentType = r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusTeapot)
	})
	if status, _, err := New(srv.URL).PostRaw(context.Background(), "/x", []byte(`{}`)); err != nil || status != http.StatusTeapot {
		t.Errorf("PostRaw: %d, %v", status, err)
	}
	if contentType != "application/json" {
		t.Errorf("Content-Type %q", contentType)
	}
}

func TestTransportError_NamesTheURLAndIsNoHTTPError(t *testing.T) {
	srv := serveFunc(t, answer(http.StatusOK, "application/json", "{}"))
	url := srv.URL
	srv.Close() // nothing listens there now
	_, err := New(url).Install(context.Background(), messages.InstallFunctionRequest{CID: "c"})
	var httpErr *Error
	if err == nil || errors.As(err, &httpErr) {
		t.Fatalf("err = %v, want a transport error", err)
	}
	if !strings.HasPrefix(err.Error(), "POST "+url+api.PathInstall+": ") || strings.Count(err.Error(), url) != 1 {
		t.Errorf("err %q: want the method and URL named once", err)
	}
	if _, _, err := New(url).PostRaw(context.Background(), "/x", nil); err == nil {
		t.Error("PostRaw to a closed port: no error")
	}
}

func TestTraceAndActorMessages_ReachTheirPaths(t *testing.T) {
	c := New(serveNode(t, nil).URL)
	ctx := context.Background()
	tr, err := c.Trace(ctx, "a b&c=d", true)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Request != "a b&c=d" || len(tr.Nodes) != 1 || tr.Nodes[0].Node != workerA || tr.Nodes[0].Steps == nil {
		t.Fatalf("trace %+v", tr)
	}
	_, err = c.ActorMessages(ctx, "node/no such actor")
	var httpErr *Error
	if !errors.As(err, &httpErr) || httpErr.Status != http.StatusNotFound || !strings.Contains(httpErr.Message, "node/no such actor") {
		t.Fatalf("unknown actor: %v", err)
	}
}

// A draining head answers 503 with a Retry-After; the error carries it, so a caller knows when
// to send the request again.
func TestError_CarriesTheRetryAfterOfADrainingHead(t *testing.T) {
	deps := api.Deps{Gatherer: prometheus.NewRegistry(), NodeID: workerA, Role: "head", Log: zerolog.Nop(),
		Head: &fakeHead{}, Draining: func() bool { return true }}
	srv := httptest.NewServer(api.NewHandler(api.DefaultConfig(), deps))
	t.Cleanup(srv.Close)
	_, err := New(srv.URL).Execute(context.Background(), messages.ExecutionRequest{FunctionID: "f", Method: "m"})
	var httpErr *Error
	if !errors.As(err, &httpErr) || httpErr.Status != http.StatusServiceUnavailable || httpErr.RetryAfter != 5*time.Second {
		t.Fatalf("err = %#v, want a 503 with Retry-After 5s", err)
	}
}

func TestRetryAfter_SecondsOrADate(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{"120", 2 * time.Minute},
		{"-1", 0},
		{"soon", 0},
		{"99999999999", 0}, // over 32 bits: not a delay anyone means
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0}, // already past
	} {
		if got := retryAfter(tc.header, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
