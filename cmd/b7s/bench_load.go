package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/messages"
)

// benchOutcome is one request: how long it took and, when it failed, why.
type benchOutcome struct {
	Latency time.Duration
	Err     string // "" when the request succeeded; a short class, e.g. "http 500"
	Detail  string // the first words of the failure, shown once per class
}

// benchTarget is the head to call, the request to send and what to check in the answer.
type benchTarget struct {
	Client       *client.Client
	Request      messages.ExecutionRequest
	ExpectStdout string // each aggregated result's stdout must contain it; "" checks nothing
	Timeout      time.Duration
}

// loopbackAPI reads --api as the client does and refuses anything but an IPv4 loopback address:
// the bench is a load generator and must not be pointed at someone else's node.
func loopbackAPI(api string) (*url.URL, error) {
	u, err := client.ParseBase(api)
	if err != nil {
		return nil, fmt.Errorf("--api: %w", err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("--api %q: only http:// to 127.0.0.1 is supported", api)
	}
	if err := checkLoopback(u.Host); err != nil {
		return nil, fmt.Errorf("--api %q: %w", api, err)
	}
	return u, nil
}

// checkLoopback accepts host:port whose host is an IPv4 loopback address (127.0.0.0/8).
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing %q: the bench only talks to 127.0.0.1 (IPv4 loopback, not a name)", host)
	}
	return nil
}

// newBenchClient keeps up to conns connections open and re-checks every dial and redirect
// against the loopback rule.
func newBenchClient(conns int) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if err := checkLoopback(addr); err != nil {
					return nil, err
				}
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("the bench does not follow redirects")
		},
	}
}

// do sends one execute request and classifies the answer. The latency includes decoding the
// answer, as any client of the head pays it.
func (t benchTarget) do(ctx context.Context) benchOutcome {
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	start := time.Now()
	resp, err := t.Client.Execute(ctx, t.Request)
	latency := time.Since(start)
	fail := func(class, detail string) benchOutcome {
		return benchOutcome{Latency: latency, Err: class, Detail: truncate(detail, 200)}
	}
	var httpErr *client.Error
	switch {
	case err == nil:
	case errors.As(err, &httpErr):
		return fail(fmt.Sprintf("http %d", httpErr.Status), httpErr.Message)
	case errors.Is(err, client.ErrMalformed):
		return fail("bad json", err.Error())
	case errors.Is(err, client.ErrTooLarge):
		return fail("too large", err.Error())
	case ctx.Err() != nil:
		return fail("timeout", err.Error())
	default:
		return fail("transport", err.Error())
	}
	if resp.Code != messages.CodeOK {
		return fail("code "+string(resp.Code), describeAnswer(resp))
	}
	if t.ExpectStdout != "" {
		if len(resp.Results) == 0 {
			return fail("no results", describeAnswer(resp))
		}
		for _, res := range resp.Results {
			if !strings.Contains(res.Result.Stdout, t.ExpectStdout) {
				return fail("stdout mismatch", fmt.Sprintf("stdout %q does not contain %q", res.Result.Stdout, t.ExpectStdout))
			}
		}
	}
	return benchOutcome{Latency: latency}
}

// describeAnswer is the detail of a failed answer: its message, or else the answer as JSON.
func describeAnswer(resp messages.ExecutionResponse) string {
	if resp.Message != "" {
		return resp.Message
	}
	data, err := json.Marshal(resp)
	if err != nil {
		return fmt.Sprintf("%+v", resp)
	}
	return string(data)
}

// runSequential sends up to n requests one after another, none after maxTime; the last one
// may finish after it, within its own timeout (cut short, it would count as a failure of the
// node). It stops early when ctx ends.
func runSequential(ctx context.Context, t benchTarget, n int, maxTime time.Duration) []benchOutcome {
	deadline := time.Now().Add(maxTime)
	out := make([]benchOutcome, 0, n)
	for i := 0; i < n && ctx.Err() == nil && time.Now().Before(deadline); i++ {
		out = append(out, t.do(ctx))
	}
	return out
}

// runConcurrent has clients goroutines send requests back to back for duration, and at most
// maxRequests in all. A request started before the deadline may finish after it, within its
// own timeout.
func runConcurrent(ctx context.Context, t benchTarget, clients int, duration time.Duration, maxRequests int) []benchOutcome {
	deadline := time.Now().Add(duration)
	var issued atomic.Int64
	perClient := make([][]benchOutcome, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				if issued.Add(1) > int64(maxRequests) {
					return
				}
				perClient[c] = append(perClient[c], t.do(ctx))
			}
		})
	}
	wg.Wait()
	var out []benchOutcome
	for _, o := range perClient {
		out = append(out, o...)
	}
	return out
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
