package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/b7s-actor/b7s/api/client"
)

// actorsTimeout bounds `b7s actors`: the tree is a snapshot and answers at once.
const actorsTimeout = 10 * time.Second

// runActors is `b7s actors`: fetch a node's tree from /debug/actors and print it.
func runActors(args []string, stdout io.Writer) error {
	fs := commandFlags("actors", "--api URL [--json]",
		"Print the live supervision tree of a node (head or worker) from its /debug/actors.", stdout)
	apiURL := fs.String("api", "http://127.0.0.1:8080", "the node's HTTP address (host:port or URL)")
	asJSON := fs.Bool("json", false, "print the JSON tree instead of text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the node goes in --api)", fs.Arg(0))
	}
	c := client.New(*apiURL, client.WithTimeout(actorsTimeout))
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
