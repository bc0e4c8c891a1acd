package executor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// httpServer records the requests it gets and answers with a fixed body and
// an X-Test header.
type httpServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func newHTTPServer(t *testing.T) *httpServer {
	s := &httpServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, r)
		s.bodies = append(s.bodies, string(body))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Test", "a-header-value")
		w.Header().Add("X-Test", "second")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, `{"hello":"from the host"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *httpServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func TestHTTP_GetWithPermissionStreamsTheBody(t *testing.T) {
	srv := newHTTPServer(t)
	e := newExecutor(t, nil)
	req := request(guest(t), "http", srv.URL+"/json")
	req.Permissions = []string{srv.URL}
	res, err := e.Execute(context.Background(), req)
	if err != nil {
		t.Fatalf("execute: %v (stderr %q)", err, res.Stderr)
	}
	want := "req=0 handle=1 status=418\n" +
		`body={"hello":"from the host"}` + "\n" +
		"header-after-body=11\n" +
		"close=0 close-again=1\n"
	if res.Stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", res.Stdout, want)
	}
	if srv.count() != 1 {
		t.Fatalf("server saw %d requests", srv.count())
	}
	r := srv.requests[0]
	if r.Method != http.MethodGet || r.URL.Path != "/json" || r.Header.Get("Accept") != "*/*" || r.UserAgent() != "" {
		t.Fatalf("request %s %s, headers %v", r.Method, r.URL, r.Header)
	}
}

func TestHTTP_NoPermissionNoRequest(t *testing.T) {
	srv := newHTTPServer(t)
	e := newExecutor(t, nil)
	for _, perms := range [][]string{
		nil,
		{"https://example.com"},
		{strings.ToUpper(srv.URL)}, // the URL is folded to lower case, the permission is not
		{srv.URL + "/json/"},       // longer than the URL
	} {
		req := request(guest(t), "http", srv.URL+"/json")
		req.Permissions = perms
		res, err := e.Execute(context.Background(), req)
		if err != nil || res.Stdout != "req=14 handle=0 status=0\n" {
			t.Errorf("permissions %q: stdout %q, err %v", perms, res.Stdout, err)
		}
	}
	if srv.count() != 0 {
		t.Fatalf("a denied request reached the server (%d requests)", srv.count())
	}
}

func TestHTTP_PostSendsBodyAndHeaders(t *testing.T) {
	srv := newHTTPServer(t)
	e := newExecutor(t, nil)
	opts := `{"method":"post","headers":"{\"X-Token\":\"abc\",\"X-Num\":5}","body":"payload","connectTimeout":5,"readTimeout":5}`
	req := request(guest(t), "http", srv.URL+"/submit", opts, "4096")
	req.Permissions = []string{"http://127.0.0.1"}
	res, err := e.Execute(context.Background(), req)
	if err != nil || !strings.HasPrefix(res.Stdout, "req=0 handle=1 status=418\n") {
		t.Fatalf("stdout %q, err %v", res.Stdout, err)
	}
	r := srv.requests[0]
	if r.Method != http.MethodPost || srv.bodies[0] != "payload" || r.Header.Get("X-Token") != "abc" {
		t.Fatalf("request %s body %q headers %v", r.Method, srv.bodies[0], r.Header)
	}
	if v, ok := r.Header["X-Num"]; !ok || v[0] != "" {
		t.Fatalf("a non-string header value should be sent empty: %v", r.Header)
	}
}

func TestHTTP_OptionErrorsFollowTheReferenceCodes(t *testing.T) {
	srv := newHTTPServer(t)
	e := newExecutor(t, nil)
	for _, tc := range []struct {
		opts string
		code string
	}{
		{`not json`, "10"},
		{`{"headers":"{}"}`, "10"},                             // no method
		{`{"method":7,"headers":"{}"}`, "10"},                  // method not a string
		{`{"method":"GET"}`, "15"},                             // no headers
		{`{"method":"GET","headers":{}}`, "15"},                // headers not double-encoded
		{`{"method":"GET","headers":"{nope"}`, "15"},           // inner JSON invalid
		{`{"method":"GET","headers":"{\"a b\":\"x\"}"}`, "15"}, // invalid header name
		{`{"method":"PUT","headers":"{}"}`, "10"},              // only GET and POST
		{`{"method":"GET","headers":"[1,2]"}`, "0"},            // not an object: ignored
	} {
		req := request(guest(t), "http", srv.URL, tc.opts)
		req.Permissions = []string{srv.URL}
		res, err := e.Execute(context.Background(), req)
		if err != nil || !strings.HasPrefix(res.Stdout, "req="+tc.code+" ") {
			t.Errorf("opts %s: stdout %q, err %v; want req=%s", tc.opts, res.Stdout, err, tc.code)
		}
	}
}

func TestHTTP_TransportFailureIsRuntimeError(t *testing.T) {
	srv := newHTTPServer(t)
	url := srv.URL
	srv.Close() // nothing listens there any more
	e := newExecutor(t, nil)
	req := request(guest(t), "http", url)
	req.Permissions = []string{url}
	res, err := e.Execute(context.Background(), req)
	if err != nil || res.Stdout != "req=11 handle=0 status=0\n" {
		t.Fatalf("stdout %q, err %v", res.Stdout, err)
	}
}

func TestHTTP_ReadHeader(t *testing.T) {
	srv := newHTTPServer(t)
	e := newExecutor(t, nil)
	req := request(guest(t), "header", srv.URL, "x-TEST", "100")
	req.Permissions = []string{srv.URL}
	res, err := e.Execute(context.Background(), req)
	want := "hdr=0 value=a-header-value\nagain=0 value=a-header-value\nabsent=4\nbad-handle=1\n"
	if err != nil || res.Stdout != want {
		t.Fatalf("stdout %q, err %v; want %q", res.Stdout, err, want)
	}

	req = request(guest(t), "header", srv.URL, "X-Test", "5")
	req.Permissions = []string{srv.URL}
	res, err = e.Execute(context.Background(), req)
	if err != nil || !strings.HasPrefix(res.Stdout, "hdr=3 value=\n") {
		t.Fatalf("small buffer: stdout %q, err %v; want buffer_too_small (3)", res.Stdout, err)
	}
}

func TestHTTP_SessionsAreBounded(t *testing.T) {
	srv := newHTTPServer(t)
	e := newExecutor(t, func(c *Config) { c.HTTP.MaxSessions = 2 })
	req := request(guest(t), "sessions", srv.URL, "3")
	req.Permissions = []string{srv.URL}
	res, err := e.Execute(context.Background(), req)
	want := "req=0 handle=1\nreq=0 handle=2\nreq=12 handle=0\n"
	if err != nil || res.Stdout != want {
		t.Fatalf("stdout %q, err %v; want %q", res.Stdout, err, want)
	}
}

func TestHTTP_BodyIsCappedAtMaxBodyBytes(t *testing.T) {
	srv := newHTTPServer(t)
	e := newExecutor(t, func(c *Config) { c.HTTP.MaxBodyBytes = 10 })
	req := request(guest(t), "http", srv.URL, `{"method":"GET","headers":"{}"}`, "3")
	req.Permissions = []string{srv.URL}
	res, err := e.Execute(context.Background(), req)
	if err != nil || !strings.Contains(res.Stdout, "\nbody={\"hello\":\"\n") { // 10 bytes
		t.Fatalf("stdout %q, err %v", res.Stdout, err)
	}
}

func TestHTTP_InjectedTransportIsUsed(t *testing.T) {
	var seen []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.String())
		return &http.Response{StatusCode: 201, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("canned")), Request: r}, nil
	})
	e := newExecutor(t, func(c *Config) { c.HTTP.Transport = rt })
	req := request(guest(t), "http", "https://httpbin.org/json")
	req.Permissions = []string{"https://httpbin.org"}
	res, err := e.Execute(context.Background(), req)
	if err != nil || !strings.HasPrefix(res.Stdout, "req=0 handle=1 status=201\nbody=canned\n") {
		t.Fatalf("stdout %q, err %v", res.Stdout, err)
	}
	if len(seen) != 1 || seen[0] != "https://httpbin.org/json" {
		t.Fatalf("transport saw %v", seen)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPermitted_IsAnASCIICaseFoldedBytePrefix(t *testing.T) {
	for _, tc := range []struct {
		url   string
		perms []string
		want  bool
	}{
		{"https://httpbin.org/json", nil, false},
		{"https://httpbin.org/json", []string{"https://httpbin.org"}, true},
		{"HTTPS://HTTPBIN.ORG/json", []string{"https://httpbin.org"}, true},
		{"https://httpbin.org/json", []string{"HTTPS://httpbin.org"}, false},
		{"https://httpbin.org", []string{"https://httpbin.org/"}, false},
		{"https://httpbin.org.evil.net/x", []string{"https://httpbin.org"}, true}, // not host-aware, as the reference
		{"https://a.com/?q=1", []string{"https://b.com", "https://a.com/?q"}, true},
		{"https://ÄBC.com", []string{"https://äbc.com"}, false}, // ASCII folding only
	} {
		if got := permitted(tc.url, tc.perms); got != tc.want {
			t.Errorf("permitted(%q, %q) = %v, want %v", tc.url, tc.perms, got, tc.want)
		}
	}
}
