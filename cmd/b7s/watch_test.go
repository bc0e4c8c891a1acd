package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/api"
)

// frames is a writer that hands each frame to the test.
type frames chan string

func (f frames) Write(p []byte) (int, error) {
	f <- string(p)
	return len(p), nil
}

func (f frames) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-f:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no frame drawn")
		return ""
	}
}

func treeAt(sec int, routerMsgs, routerRestarts int64, lastErr string) api.ActorTree {
	at := time.Date(2026, 1, 2, 3, 4, sec, 0, time.UTC)
	router := &inspect.ActorInfo{ID: "node/router", Name: "router", Kind: "router", State: "running",
		Messages: routerMsgs, Restarts: routerRestarts, LastError: lastErr, Mailbox: 3}
	if lastErr != "" {
		router.LastErrorAt = at
	}
	return api.ActorTree{Node: "12D3KooWnode", Role: "worker", Time: at, Actors: []*inspect.ActorInfo{{
		ID: "node", Name: "node", Kind: "node", State: "running", Messages: 1,
		Children: []*inspect.ActorInfo{router},
	}}}
}

// line returns the frame's line for the actor named name.
func line(t *testing.T, frame, name string) string {
	t.Helper()
	for _, l := range strings.Split(frame, "\n") {
		if regexp.MustCompile(`^\S{0,2}\s+(\s\s)*` + name + `\s`).MatchString(l) {
			return l
		}
	}
	t.Fatalf("no line for %s in:\n%s", name, frame)
	return ""
}

func TestWatch_RedrawsEachTickWithRatesUntilCancelled(t *testing.T) {
	trees := []api.ActorTree{treeAt(0, 100, 0, ""), treeAt(2, 140, 0, ""), treeAt(3, 141, 1, "boom")}
	calls := 0
	fetch := func(context.Context) (api.ActorTree, error) {
		calls++
		switch {
		case calls <= len(trees):
			return trees[calls-1], nil
		default:
			return api.ActorTree{}, errors.New("connection refused")
		}
	}
	ticks := make(chan time.Time)
	out := make(frames, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watchActors(ctx, fetch, ticks, out) }()

	first := out.next(t)
	if !strings.HasPrefix(first, clearScreen) || !strings.Contains(first, "worker 12D3KooWnode") || !strings.Contains(first, "2 actors, 0 restarts") {
		t.Fatalf("first frame:\n%s", first)
	}
	if f := strings.Fields(line(t, first, "router")); f[4] != "3" { // no rate yet: MAILBOX follows MESSAGES
		t.Errorf("first frame has a rate: %v", f)
	}

	ticks <- time.Time{}
	second := out.next(t)
	if f := strings.Fields(line(t, second, "router")); f[3] != "140" || f[4] != "20.0" {
		t.Errorf("router after 40 messages in 2 s: %v, want 140 messages at 20.0/s", f)
	}

	ticks <- time.Time{}
	third := line(t, out.next(t), "router")
	if !strings.HasPrefix(third, "R!") || !strings.Contains(third, "boom") {
		t.Errorf("a restarted actor with an error is not marked: %q", third)
	}

	ticks <- time.Time{}
	if f := out.next(t); !strings.Contains(f, "connection refused") || !strings.Contains(f, "trying again") {
		t.Errorf("a failed fetch frame:\n%s", f)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch ended with %v, want nil on Ctrl-C", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not end when cancelled")
	}
}

func TestActors_WatchRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--watch", "--json"}, {"--watch", "--interval", "1ms"}} {
		if err := runActors(args, &strings.Builder{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
