package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/api/client"
)

// traceTimeout bounds `b7s trace`: the node asks each worker with its own 5 s bound.
const traceTimeout = 30 * time.Second

// runTrace is `b7s trace`: print a request's path through a node and the peers it names.
func runTrace(args []string, stdout io.Writer) error {
	fs := commandFlags("trace", "--api URL --request ID [--no-peers] [--json]",
		"Print the path of one request through a node's actors, in time order, with what each handled or\n"+
			"sent. Asked of a head, it includes the path through each worker that took part (the head asks\n"+
			"them over libp2p). Nodes keep paths only with --recent-messages N, and only as far back as that.", stdout)
	apiURL := fs.String("api", "http://127.0.0.1:6060", "the node's debug address, --debug-address (host:port or URL)")
	requestID := fs.String("request", "", "the request ID (the request_id an execution answered with)")
	noPeers := fs.Bool("no-peers", false, "only this node's part, without asking the workers")
	asJSON := fs.Bool("json", false, "print the JSON the node answers")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *requestID == "" {
		return fmt.Errorf("--request is required (b7s trace --help)")
	}
	c := client.New(*apiURL, client.WithTimeout(traceTimeout))
	tr, err := c.Trace(context.Background(), *requestID, !*noPeers)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(tr); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	var b strings.Builder
	steps := writeTrace(&b, tr)
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if steps == 0 {
		return fmt.Errorf("no node keeps a step of request %s: it is unknown, older than the nodes keep, or they run with --recent-messages 0", *requestID)
	}
	return nil
}

// writeTrace renders a path: who took part, then every step of every node in time order, with
// milliseconds from the first. Clocks of different machines may differ; on one machine (a devnet)
// the order across nodes is exact. It returns the number of steps.
func writeTrace(b *strings.Builder, tr api.RequestTrace) int {
	type row struct {
		node string
		step int
		at   time.Time
		line string
	}
	var rows []row
	fmt.Fprintf(b, "request %s\n", tr.Request)
	for _, n := range tr.Nodes {
		who := strings.TrimSpace(n.Role + " " + n.Node)
		if n.Error != "" {
			fmt.Fprintf(b, "  %s: %s\n", who, n.Error)
		} else {
			fmt.Fprintf(b, "  %s: %d steps\n", who, len(n.Steps))
		}
		for i, s := range n.Steps {
			other := s.Sender
			if s.Peer != "" {
				other = shortPeer(s.Peer)
				if s.Dir == "out" {
					other = "→ " + other
				}
			}
			detail := s.Detail
			if s.TookNS > 0 {
				detail = strings.TrimSpace(detail + " (" + time.Duration(s.TookNS).String() + ")")
			}
			label := strings.TrimSpace(n.Role + " " + shortPeer(n.Node))
			rows = append(rows, row{node: n.Node, step: i, at: s.At, line: fmt.Sprintf("%-18s %-52s %-4s %-24s %-16s %s",
				label, s.Actor, s.Dir, s.Type, other, detail)})
		}
	}
	if len(rows) == 0 {
		return 0
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	t0 := rows[0].at
	fmt.Fprintf(b, "\n%9s  %-18s %-52s %-4s %-24s %-16s %s\n", "+ms", "NODE", "ACTOR", "DIR", "TYPE", "FROM/TO", "DETAIL")
	for _, r := range rows {
		fmt.Fprintf(b, "%9.3f  %s\n", float64(r.at.Sub(t0).Microseconds())/1000, strings.TrimRight(r.line, " "))
	}
	return len(rows)
}

// shortPeer keeps the end of a peer ID, which is what tells two apart.
func shortPeer(p string) string {
	if len(p) > 12 {
		return "…" + p[len(p)-8:]
	}
	return p
}
