package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/b7s-actor/b7s/api/client"
)

// actorsTimeout bounds `b7s actors`: the tree is a snapshot and answers at once.
const actorsTimeout = 10 * time.Second

// runActors is `b7s actors`: fetch a node's tree from /debug/actors and print it, once or, with
// --watch, redrawn every --interval until Ctrl-C.
func runActors(args []string, stdout io.Writer) error {
	fs := commandFlags("actors", "--api URL [--json | --watch [--interval D]]",
		"Print the live supervision tree of a node (head or worker) from its /debug/actors.\n"+
			"--watch redraws it like top, with each actor's message rate, until Ctrl-C.", stdout)
	apiURL := fs.String("api", "http://127.0.0.1:6060", "the node's debug address, --debug-address (host:port or URL)")
	asJSON := fs.Bool("json", false, "print the JSON tree instead of text")
	watch := fs.Bool("watch", false, "redraw the tree every --interval until Ctrl-C")
	interval := fs.Duration("interval", time.Second, "time between redraws with --watch (at least 100ms)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the node goes in --api)", fs.Arg(0))
	}
	c := client.New(*apiURL, client.WithTimeout(actorsTimeout))
	if *watch {
		if *asJSON {
			return fmt.Errorf("--watch draws for people; it does not go with --json")
		}
		if *interval < 100*time.Millisecond {
			return fmt.Errorf("--interval: %s is below the minimum 100ms", *interval)
		}
		// Ctrl-C ends the watch and the command, with exit code 0.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		ticker := time.NewTicker(*interval)
		defer ticker.Stop()
		return watchActors(ctx, c.Actors, ticker.C, stdout)
	}
	ctx := context.Background()
	if *asJSON {
		tree, err := c.Actors(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ") // as the node writes it: read by people as often as by programs
		if err := enc.Encode(tree); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	text, err := c.ActorsText(ctx)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, text); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
