package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/b7s-actor/b7s/api"
)

// Peer IDs of the spec's examples (Ed25519 keys whose seed is one repeated byte).
const (
	peerA = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"
	peerB = "12D3KooWRndVhVZPCiQwHBBBdg769GyrPUW13zxwqQyf9r3ANaba"
	peerC = "12D3KooWPT98FXMfDQYavZm66EeVjTqP9Nnehn1gyaydqV8L8BQw"
	reqID = "b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c"
)

// fakeHeadAPI answers one path with a canned status and body and records what it was sent.
type fakeHeadAPI struct {
	*httptest.Server

	mu       sync.Mutex
	requests []recordedRequest
}

type recordedRequest struct {
	method, path, contentType, body string
}

func newFakeHeadAPI(t *testing.T, path string, status int, answer string) *fakeHeadAPI {
	t.Helper()
	f := &fakeHeadAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, recordedRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(body)})
		f.mu.Unlock()
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(f.Close)
	return f
}

// only returns the one request the command sent.
func (f *fakeHeadAPI) only(t *testing.T) recordedRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 1 {
		t.Fatalf("head got %d requests, want 1: %+v", len(f.requests), f.requests)
	}
	return f.requests[0]
}

func (f *fakeHeadAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func TestInstall_ByCIDSendsBodyAndPrintsCode(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathInstall, http.StatusOK, `{"code":"200"}`+"\n")
	var out bytes.Buffer
	// host:port, as well as a full URL, is accepted.
	if err := runInstall([]string{"--api", head.Listener.Addr().String(), "--cid", "bafy", "--topic", "t"}, &out); err != nil {
		t.Fatal(err)
	}
	got := head.only(t)
	want := recordedRequest{http.MethodPost, api.PathInstall, "application/json", `{"cid":"bafy","uri":"","topic":"t"}`}
	if got != want {
		t.Fatalf("sent %+v\nwant %+v", got, want)
	}
	if out.String() != "install of bafy published (code 200)\n" {
		t.Fatalf("printed %q", out.String())
	}
}

func TestInstall_ByURISendsURIAndNamesTheDerivedCID(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathInstall, http.StatusOK, `{"code":"200"}`)
	const uri = "https://example.com/manifest.json"
	var out bytes.Buffer
	if err := runInstall([]string{"--api", head.URL, "--uri", uri}, &out); err != nil {
		t.Fatal(err)
	}
	if got := head.only(t).body; got != `{"cid":"","uri":"`+uri+`","topic":""}` {
		t.Fatalf("sent %s", got)
	}
	// printf %s "$uri" | sha256sum
	const cid = "1eb50a3f96621a44c9e3c8172bd36862a719b887e8434c39c3e04e9cd5160a8d"
	if !strings.Contains(out.String(), cid) || !strings.Contains(out.String(), "(code 200)") {
		t.Fatalf("printed %q, want the CID %s and the code", out.String(), cid)
	}
}

// --json prints the answer re-encoded; for the head's own (canonical) JSON that is the same bytes.
func TestInstall_JSONPrintsTheResponse(t *testing.T) {
	const answer = `{"code":"200"}` + "\n"
	head := newFakeHeadAPI(t, api.PathInstall, http.StatusOK, answer)
	var out bytes.Buffer
	if err := runInstall([]string{"--api", head.URL, "--cid", "bafy", "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != answer {
		t.Fatalf("printed %q, want %q", out.String(), answer)
	}
}

func TestInstall_TimeoutCodeIsAnError(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathInstall, http.StatusOK, `{"code":"408"}`)
	err := runInstall([]string{"--api", head.URL, "--cid", "bafy"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "code 408") {
		t.Fatalf("err = %v, want one naming code 408", err)
	}
}

func TestInstall_RequiresExactlyOneOfURIAndCID(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathInstall, http.StatusOK, `{"code":"200"}`)
	for _, args := range [][]string{
		{"--api", head.URL},
		{"--api", head.URL, "--cid", "bafy", "--uri", "https://example.com/m.json"},
	} {
		err := runInstall(args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "exactly one of --uri and --cid") {
			t.Errorf("%v: err = %v", args, err)
		}
	}
	if n := head.count(); n != 0 {
		t.Fatalf("head got %d requests", n)
	}
}

// execAnswer is a 200 answer with two distinct outputs from three peers.
const execAnswer = `{"cluster":{"peers":["` + peerA + `","` + peerB + `","` + peerC + `"]},"code":"200",` +
	`"request_id":"` + reqID + `","results":[` +
	`{"result":{"stdout":"Hello, world!\n","stderr":"","exit_code":0},"peers":["` + peerA + `","` + peerB + `"],"frequency":66.66666666666667},` +
	`{"result":{"stdout":"Hi","stderr":"warning: x\n","exit_code":3},"peers":["` + peerC + `"],"frequency":33.333333333333336}]}` + "\n"

func TestExec_SendsTheFlagsAsTheRequest(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK, execAnswer)
	args := []string{
		"--api", head.URL + "/", "--function", "bafy", "--method", "hello.wasm", "--nodes", "3",
		"--stdin", "in put", "--arg", "a,b", "--arg", "c", "--env", "GREETING=hi=there", "--env", "EMPTY=",
		"--timeout", "7", "--topic", "t", "--fuel", "5000",
	}
	if err := runExec(args, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := head.only(t)
	want := recordedRequest{http.MethodPost, api.PathExecute, "application/json",
		`{"function_id":"bafy","method":"hello.wasm","parameters":[{"value":"a,b"},{"value":"c"}],` +
			`"config":{"runtime":{"limited_fuel":5000},"env_vars":[{"name":"GREETING","value":"hi=there"},{"name":"EMPTY"}],` +
			`"stdin":"in put","result_aggregation":{},"number_of_nodes":3,"timeout":7},"topic":"t"}`}
	if got != want {
		t.Fatalf("sent %+v\nwant %+v", got, want)
	}
}

func TestExec_AttributeFlagsAskForAttestedWorkers(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK, execAnswer)
	args := []string{"--api", head.URL, "--function", "f", "--method", "m",
		"--attribute", "region=eu", "--attribute", "tier=", "--attested-by", peerA, "--attested-by", peerB, "--attested"}
	if err := runExec(args, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := `"attributes":{"values":[{"name":"region","value":"eu"},{"name":"tier"}],"attestation_required":true,` +
		`"attestors":{"each":["` + peerA + `","` + peerB + `"]}}`
	if got := head.only(t).body; !strings.Contains(got, want) {
		t.Fatalf("sent %s\nwant it to contain %s", got, want)
	}
	for _, bad := range [][]string{{"--attribute", "region"}, {"--attribute", "=eu"}, {"--attested-by", "nobody"}} {
		if err := runExec(append([]string{"--api", head.URL, "--function", "f", "--method", "m"}, bad...), io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if head.count() != 1 {
		t.Fatal("a bad attribute flag was sent")
	}
}

func TestExec_MinimalRequestSendsNoStdin(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK, execAnswer)
	if err := runExec([]string{"--api", head.URL, "--function", "bafy", "--method", "m"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	want := `{"function_id":"bafy","method":"m","config":{"runtime":{},"result_aggregation":{}}}`
	if got := head.only(t).body; got != want {
		t.Fatalf("sent %s\nwant %s", got, want)
	}
}

func TestExec_EmptyStdinIsSent(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK, execAnswer)
	if err := runExec([]string{"--api", head.URL, "--function", "f", "--method", "m", "--stdin", ""}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := head.only(t).body; !strings.Contains(got, `"stdin":""`) {
		t.Fatalf("sent %s, want an empty stdin", got)
	}
}

func TestExec_PrintsTheAggregatedResults(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK, execAnswer)
	var out bytes.Buffer
	if err := runExec([]string{"--api", head.URL, "--function", "f", "--method", "m"}, &out); err != nil {
		t.Fatal(err)
	}
	want := "request " + reqID + ": code 200\n" +
		"\nresult 1 of 2: 2 peer(s), frequency 66.67%, exit code 0\n" +
		"peers: " + peerA + ", " + peerB + "\n" +
		"stdout:\nHello, world!\n" +
		"\nresult 2 of 2: 1 peer(s), frequency 33.33%, exit code 3\n" +
		"peers: " + peerC + "\n" +
		"stdout:\nHi\n" +
		"stderr:\nwarning: x\n"
	if out.String() != want {
		t.Fatalf("printed\n%s\nwant\n%s", out.String(), want)
	}
}

func TestExec_JSONPrintsTheResponse(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK, execAnswer)
	var out bytes.Buffer
	if err := runExec([]string{"--api", head.URL, "--function", "f", "--method", "m", "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != execAnswer {
		t.Fatalf("printed %q\nwant %q", out.String(), execAnswer)
	}
}

func TestExec_PartialContentIsSuccess(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK, strings.Replace(execAnswer, `"code":"200"`, `"code":"206"`, 1))
	if err := runExec([]string{"--api", head.URL, "--function", "f", "--method", "m"}, io.Discard); err != nil {
		t.Fatalf("206 gave %v", err)
	}
}

func TestExec_FailedCodeIsAnErrorAfterPrinting(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK,
		`{"cluster":{},"code":"408","message":"roll call timed out","request_id":"`+reqID+`"}`)
	var out bytes.Buffer
	err := runExec([]string{"--api", head.URL, "--function", "f", "--method", "m"}, &out)
	if err == nil || !strings.Contains(err.Error(), "code 408: roll call timed out") {
		t.Fatalf("err = %v, want code 408 with its message", err)
	}
	want := "request " + reqID + ": code 408\nmessage: roll call timed out\nno results\n"
	if out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
}

func TestExec_HTTPErrorCarriesTheHeadMessage(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusNotFound,
		`{"message":"this node is a worker; send requests to a head"}`)
	err := runExec([]string{"--api", head.URL, "--function", "f", "--method", "m"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "404 Not Found: this node is a worker") {
		t.Fatalf("err = %v", err)
	}
}

func TestExec_RejectsBadFlagsWithoutSending(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathExecute, http.StatusOK, execAnswer)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--method", "m"}, "--function is required"},
		{[]string{"--function", "f"}, "--method is required"},
		{[]string{"--function", "f", "--method", "m", "--env", "NOVALUE"}, `--env "NOVALUE": want NAME=VALUE`},
		{[]string{"--function", "f", "--method", "m", "--timeout", "-1"}, "--timeout -1 is negative"},
		{[]string{"--function", "f", "--method", "m", "--nodes", "three"}, "invalid argument"},
		{[]string{"--function", "f", "--method", "m", "stray"}, "unexpected arguments"},
	}
	for _, tc := range cases {
		err := runExec(append([]string{"--api", head.URL}, tc.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
	if n := head.count(); n != 0 {
		t.Fatalf("head got %d requests", n)
	}
}
