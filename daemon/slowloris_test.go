package daemon

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/config"
)

// A client that sends its request slowly (slowloris) cannot hold a head's connection past the
// server's header and read timeouts: the head closes it. The timeouts are shortened for the
// test; the client would trickle for far longer (trickleBudget) if nobody cut it off.
func TestHead_SlowClientsAreCutOffByTheReadTimeouts(t *testing.T) {
	const (
		headerTimeout = 300 * time.Millisecond
		readTimeout   = 600 * time.Millisecond
		trickleEvery  = 20 * time.Millisecond
		trickleBudget = 15 * time.Second // 25× the read timeout: only the server can end the trickle in time
	)
	head := startHead(t, func(c *api.Config) { c.ReadHeaderTimeout, c.ReadTimeout = headerTimeout, readTimeout })
	addr := head.HTTPAddress()

	request := "POST " + api.PathExecute + " HTTP/1.1\r\nHost: head\r\nContent-Type: application/json\r\n"
	cases := []struct {
		name  string
		first string // sent at once
		drip  string // then one byte at a time, never all of it
		// answer is what the server may say before it closes: nothing, a 400 (net/http's for
		// half-read headers), or must say 400 (the handler's for a body cut short).
		answer cutOff
	}{
		{name: "silent connection", answer: closesSilently},
		{name: "headers trickled", first: "POST " + api.PathExecute + " HTTP/1.1\r\n", drip: strings.Repeat("X-Pad: slow\r\n", 1000), answer: mayAnswer400},
		{name: "body trickled", first: request + "Content-Length: 100000\r\n\r\n", drip: `{"function_id":"` + strings.Repeat("a", 99_000), answer: answers400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()

			// The reader sees what the server sends, and returns when it closes.
			type outcome struct {
				got []byte
				err error
			}
			closed := make(chan outcome, 1)
			go func() {
				got, err := io.ReadAll(conn)
				closed <- outcome{got, err}
			}()

			if _, err := io.WriteString(conn, tc.first); err != nil {
				t.Fatalf("write: %v", err)
			}
			deadline := time.NewTimer(trickleBudget)
			defer deadline.Stop()
			tick := time.NewTicker(trickleEvery)
			defer tick.Stop()
			drip := tc.drip
			for {
				select {
				case out := <-closed:
					checkCutOff(t, out.got, out.err, tc.answer)
					return
				case <-deadline.C:
					t.Fatalf("the server still holds the connection after %v of trickling", trickleBudget)
				case <-tick.C:
					if drip == "" {
						continue
					}
					// A write may fail once the server closed; the reader reports that.
					_, _ = io.WriteString(conn, drip[:1])
					drip = drip[1:]
				}
			}
		})
	}

	// The head still serves everyone else.
	resp, err := http.Get("http://" + addr + api.PathHealth)
	if err != nil {
		t.Fatalf("health after the slow clients: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health after the slow clients: %d", resp.StatusCode)
	}
}

// cutOff is how a server may end a slow client's connection.
type cutOff int

const (
	closesSilently cutOff = iota
	mayAnswer400
	answers400
)

// checkCutOff checks how the server ended the connection: it closed it (EOF or a reset), after
// an answer when one is expected.
func checkCutOff(t *testing.T, got []byte, err error, want cutOff) {
	t.Helper()
	if err != nil && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("connection ended with %v, want the server to close it", err)
	}
	switch {
	case want == closesSilently && len(got) != 0:
		t.Fatalf("the server answered %q, want it to just close", got)
	case want == closesSilently, want == mayAnswer400 && len(got) == 0:
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(got))), nil)
	if err != nil {
		t.Fatalf("the server closed without a readable answer (%q): %v", got, err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 for a body cut off by the read timeout", resp.StatusCode)
	}
}

// startHead starts a head on 127.0.0.1 with its REST API, and adjust applied to its HTTP
// configuration.
func startHead(t *testing.T, adjust func(*api.Config)) *Daemon {
	t.Helper()
	cfg := config.Default()
	cfg.Role = string(actors.RoleHead)
	cfg.Head.RestAPI = "127.0.0.1:0"
	cfg.Connectivity.Address = "127.0.0.1"
	cfg.Connectivity.Port = 0
	cfg.Connectivity.Discovery = false
	cfg.MemoryTarget = 0 // the memory limit is the process's
	dir := t.TempDir()
	cfg.Workspace, cfg.DB = dir+"/workspace", dir+"/db"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Start(ctx, cfg, Options{Log: zerolog.Nop(), HTTP: adjust})
	if err != nil {
		t.Fatalf("start head: %v", err)
	}
	t.Cleanup(d.Stop)
	return d
}
