package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxResponseBytes bounds what the bench reads of one response.
const maxResponseBytes = 8 << 20

// benchOutcome is one request: how long it took and, when it failed, why.
type benchOutcome struct {
	Latency time.Duration
	Err     string // "" when the request succeeded; a short class, e.g. "http 500"
	Detail  string // the first words of the failure, shown once per class
}

// benchTarget is the execute endpoint, the body to send and what to check in the answer.
type benchTarget struct {
	URL          string
	Body         []byte
	ExpectStdout string // each aggregated result's stdout must contain it; "" checks nothing
	Timeout      time.Duration
}

// loopbackAPI parses --api and refuses anything but an IPv4 loopback address: the bench is a
// load generator and must not be pointed at someone else's node.
func loopbackAPI(api string) (*url.URL, error) {
	u, err := url.Parse(normalizeURL(api))
	if err != nil {
		return nil, fmt.Errorf("--api %q: %w", api, err)
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

// executeResponse is the part of the ExecutionResponse the bench checks.
type executeResponse struct {
	Code    json.RawMessage `json:"code"`
	Results []struct {
		Result struct {
			Stdout string `json:"stdout"`
		} `json:"result"`
	} `json:"results"`
}

// do sends one execute request and classifies the answer.
func (t benchTarget) do(ctx context.Context, client *http.Client) benchOutcome {
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	start := time.Now()
	fail := func(class, detail string) benchOutcome {
		return benchOutcome{Latency: time.Since(start), Err: class, Detail: truncate(detail, 200)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(t.Body))
	if err != nil {
		return fail("request", err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fail("timeout", err.Error())
		}
		return fail("transport", err.Error())
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	resp.Body.Close()
	latency := time.Since(start)
	if err != nil {
		return fail("transport", err.Error())
	}
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Sprintf("http %d", resp.StatusCode), string(body))
	}
	var r executeResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fail("bad json", err.Error())
	}
	if code := strings.Trim(string(r.Code), `"`); code != "200" {
		return fail("code "+code, string(body))
	}
	if t.ExpectStdout != "" {
		if len(r.Results) == 0 {
			return fail("no results", string(body))
		}
		for _, res := range r.Results {
			if !strings.Contains(res.Result.Stdout, t.ExpectStdout) {
				return fail("stdout mismatch", fmt.Sprintf("stdout %q does not contain %q", res.Result.Stdout, t.ExpectStdout))
			}
		}
	}
	return benchOutcome{Latency: latency}
}

// runSequential sends up to n requests one after another; it stops early when ctx ends.
func runSequential(ctx context.Context, client *http.Client, t benchTarget, n int) []benchOutcome {
	out := make([]benchOutcome, 0, n)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		out = append(out, t.do(ctx, client))
	}
	return out
}

// runConcurrent has clients goroutines send requests back to back for duration, and at most
// maxRequests in all. A request started before the deadline may finish after it, within its
// own timeout.
func runConcurrent(ctx context.Context, client *http.Client, t benchTarget, clients int, duration time.Duration, maxRequests int) []benchOutcome {
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
				perClient[c] = append(perClient[c], t.do(ctx, client))
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
