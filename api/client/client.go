package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/messages"
)

const (
	// DefaultTimeout bounds one call when the caller's context has no earlier deadline. An
	// execute answers only after the roll call, cluster formation and the 20 s result
	// gathering, so it is generous.
	DefaultTimeout = 2 * time.Minute

	// MaxResponseBytes bounds what is read of one answer. The largest legitimate answer is an
	// execution response carrying a few workers' results, each up to ~13 MB once its output is
	// JSON-escaped; 256 MiB leaves room for that and still stops a broken or hostile server from
	// exhausting memory.
	MaxResponseBytes = 256 << 20

	// maxMessageBytes bounds the text of an error answer quoted in an Error: enough for any
	// message a node writes, short enough for a log line.
	maxMessageBytes = 1024
)

// ErrNotFound is wrapped by Result's error when the node answers 404: the head has no result
// for the request ID (or the node is a worker; the *Error in the chain then says so).
var ErrNotFound = errors.New("result not found")

// ErrMalformed is wrapped when a 2xx answer is not what the path returns (not JSON, wrong shape).
var ErrMalformed = errors.New("malformed answer")

// ErrTooLarge is wrapped when an answer is longer than MaxResponseBytes.
var ErrTooLarge = errors.New("answer too large")

// Error is a non-2xx answer.
type Error struct {
	Method, URL string
	Status      int
	// Message is the body's {"message": …}, or else the trimmed body text (cut at 1 KiB).
	Message string
	// RetryAfter is the answer's Retry-After (a draining node's 503 carries one): how long to
	// wait before sending the request again, to this node or another. 0: none given.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Client calls one node.
type Client struct {
	base     string
	baseErr  error // set when New was given an unusable base; every call returns it
	hc       *http.Client
	timeout  time.Duration
	maxBytes int64 // MaxResponseBytes; a field so that tests can refuse small answers
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends the calls through hc, for its transport (dial rules, connection pool) or
// redirect policy. Its own Timeout, if any, applies as well as the Client's.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.hc = hc }
}

// WithTimeout bounds one call, unless the caller's context ends earlier; d <= 0 leaves calls
// bounded by the context alone. The default is DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// New returns a client of the node at base: "host:port", or "http(s)://host:port[/prefix]". A
// trailing slash is ignored. An unusable base is reported by every call.
func New(base string, opts ...Option) *Client {
	c := &Client{hc: &http.Client{}, timeout: DefaultTimeout, maxBytes: MaxResponseBytes}
	u, err := ParseBase(base)
	if err != nil {
		c.base, c.baseErr = base, err
	} else {
		c.base = u.String()
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ParseBase reads a base as New does, for callers that check an address before calling it (the
// bench refuses anything but 127.0.0.1). The result has no trailing slash.
func ParseBase(base string) (*url.URL, error) {
	s := strings.TrimSpace(base)
	// "host:port" is not a URL (url.Parse reads "host" as a scheme), so it gets one.
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("node address %q: %w", base, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("node address %q: scheme %q, want http or https", base, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("node address %q: no host", base)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("node address %q: want scheme://host:port[/prefix], without user, query or fragment", base)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// Base is the normalised base URL ("http://host:port[/prefix]"), or the string New was given
// when it is not usable.
func (c *Client) Base() string { return c.base }

// Execute runs a function through a head and returns its answer, whatever the code in it
// (200, 206, 408…): the outcome of the request is the caller's to judge.
func (c *Client) Execute(ctx context.Context, req messages.ExecutionRequest) (messages.ExecutionResponse, error) {
	var resp messages.ExecutionResponse
	err := c.postJSON(ctx, api.PathExecute, req, &resp, "execution response")
	return resp, err
}

// Install asks a head to publish an install of a function. A publish that timed out on the head
// is a 200 with code 408 in the answer, not an error.
func (c *Client) Install(ctx context.Context, req messages.InstallFunctionRequest) (messages.InstallFunctionResponse, error) {
	var resp messages.InstallFunctionResponse
	err := c.postJSON(ctx, api.PathInstall, req, &resp, "install response")
	return resp, err
}

// Result returns the results of a finished request. A 404 (no such request, or a worker) is an
// error wrapping ErrNotFound and the *Error.
func (c *Client) Result(ctx context.Context, requestID string) (messages.ResultMap, error) {
	var resp messages.ResultMap
	err := c.postJSON(ctx, api.PathResult, messages.ResultRequest{ID: requestID}, &resp, "result")
	var httpErr *Error
	if errors.As(err, &httpErr) && httpErr.Status == http.StatusNotFound {
		return nil, fmt.Errorf("request %s: %w: %w", requestID, ErrNotFound, err)
	}
	return resp, err
}

// Health checks that the node is up: 200 and {"code":200,…}. Every node with an HTTP address,
// workers included, answers it.
func (c *Client) Health(ctx context.Context) error {
	var resp struct {
		Code int `json:"code"`
	}
	if err := c.getJSON(ctx, api.PathHealth, &resp, "health answer"); err != nil {
		return err
	}
	if resp.Code != messages.HealthCode {
		return fmt.Errorf("GET %s: health code %d, want %d: %w", c.url(api.PathHealth), resp.Code, messages.HealthCode, ErrMalformed)
	}
	return nil
}

// Live and Ready return the node's /livez and /readyz answer and its status (200, or 503 with
// the failing checks); err is for anything but those two answers.
func (c *Client) Live(ctx context.Context) (api.Probe, int, error) { return c.probe(ctx, api.PathLive) }

// Ready: see Live.
func (c *Client) Ready(ctx context.Context) (api.Probe, int, error) {
	return c.probe(ctx, api.PathReady)
}

func (c *Client) probe(ctx context.Context, path string) (api.Probe, int, error) {
	var p api.Probe
	status, body, err := c.roundTrip(ctx, http.MethodGet, path, nil)
	if err != nil {
		return p, 0, err
	}
	if status != http.StatusOK && status != http.StatusServiceUnavailable {
		return p, status, &Error{Method: http.MethodGet, URL: c.url(path), Status: status, Message: errorMessage(body)}
	}
	return p, status, c.decode(http.MethodGet, path, body, &p, "probe")
}

// Actors returns the node's live supervision tree.
func (c *Client) Actors(ctx context.Context) (api.ActorTree, error) {
	var tree api.ActorTree
	err := c.getJSON(ctx, api.PathActors, &tree, "actor tree")
	return tree, err
}

// ActorsText returns the node's supervision tree as the text people read.
func (c *Client) ActorsText(ctx context.Context) (string, error) {
	body, err := c.get(ctx, api.PathActors+"?format=text")
	return string(body), err
}

// ActorMessages returns the recent messages of one actor of the node, by its ID ("node/router").
func (c *Client) ActorMessages(ctx context.Context, id string) (api.ActorMessages, error) {
	var m api.ActorMessages
	err := c.getJSON(ctx, api.PathActorMessages+"?id="+url.QueryEscape(id), &m, "actor messages")
	return m, err
}

// Trace returns the path of a request through the node and, when withPeers, through the peers
// that path names (a head's workers), as the node gathers them.
func (c *Client) Trace(ctx context.Context, requestID string, withPeers bool) (api.RequestTrace, error) {
	path := api.PathTrace + "?request=" + url.QueryEscape(requestID)
	if !withPeers {
		path += "&peers=false"
	}
	var t api.RequestTrace
	err := c.getJSON(ctx, path, &t, "request trace")
	return t, err
}

// Metrics returns the node's Prometheus metrics in the text exposition format.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	body, err := c.get(ctx, api.PathMetrics)
	return string(body), err
}

// PostRaw posts body as JSON to path and returns the answer as it is, whatever its status: it
// is for tests of bad input. err is only for failures to get an answer (transport, an unusable
// base, an answer over MaxResponseBytes).
func (c *Client) PostRaw(ctx context.Context, path string, body []byte) (status int, respBody []byte, err error) {
	return c.roundTrip(ctx, http.MethodPost, path, body)
}

// postJSON posts in as JSON and decodes a 2xx answer into out.
func (c *Client) postJSON(ctx context.Context, path string, in, out any, what string) error {
	payload, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("POST %s: encode request: %w", c.url(path), err)
	}
	body, err := c.expect2xx(ctx, http.MethodPost, path, payload)
	if err != nil {
		return err
	}
	return c.decode(http.MethodPost, path, body, out, what)
}

func (c *Client) getJSON(ctx context.Context, path string, out any, what string) error {
	body, err := c.get(ctx, path)
	if err != nil {
		return err
	}
	return c.decode(http.MethodGet, path, body, out, what)
}

func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	return c.expect2xx(ctx, http.MethodGet, path, nil)
}

// expect2xx sends one request and returns the body of a 2xx answer; any other status is an *Error.
func (c *Client) expect2xx(ctx context.Context, method, path string, payload []byte) ([]byte, error) {
	r, err := c.do(ctx, method, path, payload)
	if err != nil {
		return nil, err
	}
	if r.status < 200 || r.status > 299 {
		return nil, &Error{Method: method, URL: c.url(path), Status: r.status, Message: errorMessage(r.body),
			RetryAfter: retryAfter(r.header.Get("Retry-After"), time.Now())}
	}
	return r.body, nil
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
// Anything else, or a time already past, is 0.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (c *Client) decode(method, path string, body []byte, out any, what string) error {
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode %s: %w: %w (answer starts %q)", method, c.url(path), what, ErrMalformed, err, cut(string(body), 200))
	}
	return nil
}

// roundTrip sends one request (payload as JSON when not nil) and returns the status and body.
func (c *Client) roundTrip(ctx context.Context, method, path string, payload []byte) (int, []byte, error) {
	r, err := c.do(ctx, method, path, payload)
	return r.status, r.body, err
}

// reply is one HTTP answer, read whole.
type reply struct {
	status int
	body   []byte
	header http.Header
}

func (c *Client) do(ctx context.Context, method, path string, payload []byte) (reply, error) {
	target := c.url(path)
	if c.baseErr != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, c.baseErr)
	}
	if c.timeout > 0 {
		// WithTimeout keeps an earlier deadline of the caller's.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel() // only after the body has been read: cancelling aborts the read
	}
	var reqBody io.Reader
	if payload != nil {
		reqBody = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reqBody)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL; keep only its cause, wrapped with ours.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return reply{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: read answer (%s): %w", method, target, resp.Status, err)
	}
	if int64(len(body)) > c.maxBytes {
		return reply{}, fmt.Errorf("%s %s: %s answer is longer than %d bytes: %w", method, target, resp.Status, c.maxBytes, ErrTooLarge)
	}
	return reply{status: resp.StatusCode, body: body, header: resp.Header}, nil
}

func (c *Client) url(path string) string { return c.base + path }

// errorMessage is the {"message": …} of an error body, or else its trimmed text.
func errorMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return cut(e.Message, maxMessageBytes)
	}
	return cut(strings.TrimSpace(string(body)), maxMessageBytes)
}

// cut shortens s to at most n bytes, at a character boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
