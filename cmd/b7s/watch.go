package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/api"
)

// clearScreen moves the cursor home and clears the terminal (ANSI), as top does between frames.
const clearScreen = "\x1b[H\x1b[2J"

// watchActors draws the tree fetch returns, then again at every tick, until ctx ends (Ctrl-C).
// A failed fetch is drawn as such and tried again at the next tick: a node that restarts comes
// back on the screen by itself. Rates are messages handled between two frames over the node's
// own time between them.
func watchActors(ctx context.Context, fetch func(context.Context) (api.ActorTree, error), ticks <-chan time.Time, w io.Writer) error {
	var prev *api.ActorTree
	for {
		tree, err := fetch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var frame strings.Builder
		frame.WriteString(clearScreen)
		if err != nil {
			fmt.Fprintf(&frame, "b7s actors: %v\n(trying again; Ctrl-C to quit)\n", err)
		} else {
			writeTop(&frame, tree, prev)
			prev = &tree
		}
		if _, err := io.WriteString(w, frame.String()); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
		}
	}
}

// writeTop renders one frame: a summary line, then one line per actor in tree order. prev, the
// frame before, gives the rates; without it they are blank.
func writeTop(b *strings.Builder, tree api.ActorTree, prev *api.ActorTree) {
	before := map[string]int64{}
	var dt time.Duration
	if prev != nil {
		dt = tree.Time.Sub(prev.Time)
		walk(prev.Actors, 0, func(a *inspect.ActorInfo, _ int) { before[a.ID] = a.Messages })
	}
	var n int
	var restarts int64
	walk(tree.Actors, 0, func(a *inspect.ActorInfo, _ int) { n++; restarts += a.Restarts })
	fmt.Fprintf(b, "b7s actors  %s %s  %s  %d actors, %d restarts  (Ctrl-C to quit)\n\n",
		tree.Role, tree.Node, tree.Time.Local().Format("15:04:05"), n, restarts)
	fmt.Fprintf(b, "%-2s %-44s %-16s %-18s %9s %8s %7s %8s  %s\n", "", "ACTOR", "KIND", "STATE", "MESSAGES", "MSG/S", "MAILBOX", "RESTARTS", "LAST ERROR")
	walk(tree.Actors, 0, func(a *inspect.ActorInfo, depth int) {
		mark := ""
		if a.Restarts > 0 {
			mark = "R" // restarted: the eye should find it
		}
		if a.LastError != "" {
			mark += "!"
		}
		rate := ""
		if old, ok := before[a.ID]; ok && dt > 0 {
			rate = fmt.Sprintf("%.1f", float64(a.Messages-old)/dt.Seconds())
		}
		state := a.State
		if a.Behaviour != "" {
			state += "/" + a.Behaviour
		}
		lastErr := a.LastError
		if lastErr != "" && !a.LastErrorAt.IsZero() {
			lastErr = a.LastErrorAt.Local().Format("15:04:05") + " " + lastErr
		}
		fmt.Fprintf(b, "%-2s %-44s %-16s %-18s %9d %8s %7d %8d  %s\n", mark, cutTo(strings.Repeat("  ", depth)+a.Name, 44),
			cutTo(a.Kind, 16), cutTo(state, 18), a.Messages, rate, a.Mailbox, a.Restarts, cutTo(lastErr, 60))
	})
}

func walk(actors []*inspect.ActorInfo, depth int, visit func(*inspect.ActorInfo, int)) {
	for _, a := range actors {
		visit(a, depth)
		walk(a.Children, depth+1, visit)
	}
}

// cutTo shortens s to n runes, marking the cut.
func cutTo(s string, n int) string {
	r := []rune(strings.ReplaceAll(s, "\n", " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}
