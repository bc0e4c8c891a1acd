package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/fstore/funcpack"
)

// printReady tells the user where everything is and what to paste to try it.
func (d *devnet) printReady(pkg funcpack.Function, srv *funcpack.Server, installNote string) {
	w := d.stdout
	bin := d.binaryForDisplay()
	rest := d.cfg.RestAPI

	fmt.Fprintf(w, "\nb7s devnet is up: 1 head and %d worker(s) on 127.0.0.1 (state and logs in %s)\n\n", d.cfg.Workers, d.cfg.Dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  node\tpid\tpeer ID\tlibp2p\thttp\tdebug\tlog")
	for i, n := range d.nodes {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\thttp://%s\thttp://%s\t%s\n", n.Name, d.children[i].PID(), n.PeerID, fmt.Sprintf("127.0.0.1:%d", n.Port), n.HTTP, n.Debug, n.LogPath)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nfunction %s\n", pkg.Name)
	fmt.Fprintf(w, "  cid       %s\n", pkg.CID)
	fmt.Fprintf(w, "  manifest  %s\n", srv.ManifestURL(pkg))
	fmt.Fprintf(w, "  archive   %s (sha256 %s)\n", srv.ArchiveURL(pkg), pkg.Checksum)
	fmt.Fprintf(w, "  %s\n", installNote)

	fmt.Fprintf(w, "\nREST API: http://%s (health: curl -s http://%s%s)\n", rest, rest, api.PathHealth)
	headDebug := d.nodes[0].Debug
	fmt.Fprintln(w, "\nactor trees (on each node's debug address, which only this machine reaches):")
	for _, n := range d.nodes {
		fmt.Fprintf(w, "  %s actors --api %s    # %s\n", bin, n.Debug, n.Name)
	}
	fmt.Fprintf(w, "  curl -s 'http://%s%s?format=text'\n", headDebug, api.PathActors)
	fmt.Fprintf(w, "  curl -s http://%s%s | grep ^b7s_\n", headDebug, api.PathMetrics)
	fmt.Fprintf(w, "  %s actors --api %s --watch    # redrawn every second, like top\n", bin, headDebug)
	fmt.Fprintln(w, "  live pages:")
	for _, n := range d.nodes {
		fmt.Fprintf(w, "    http://%s%s    # %s\n", n.Debug, api.PathActorsUI, n.Name)
	}

	fmt.Fprintln(w, "\nexecute the function:")
	fmt.Fprintf(w, "  %s exec --api %s --function %s --method %s --nodes 1 --arg world --stdin hi\n", bin, rest, pkg.CID, pkg.Name)
	fmt.Fprintf(w, "  curl -s -X POST http://%s%s -H 'Content-Type: application/json' -d '%s'\n", rest, api.PathExecute, exampleExecuteBody(pkg))
	if d.cfg.RecentMessages > 0 {
		fmt.Fprintf(w, "  %s trace --api %s --request <request_id>    # its path through the head and workers\n", bin, headDebug)
	}
	fmt.Fprintln(w, "\nload test:")
	fmt.Fprintf(w, "  %s bench --api %s --function %s --method %s --nodes 1 --requests 100 --devnet %s\n", bin, rest, pkg.CID, pkg.Name, d.cfg.Dir)
	fmt.Fprintln(w, "\nCtrl-C stops the network.")
}

// exampleExecuteBody is the REST body of the example exec line, keys in the order people read.
func exampleExecuteBody(pkg funcpack.Function) string {
	type param struct {
		Value string `json:"value"`
	}
	type config struct {
		Stdin         string `json:"stdin"`
		NumberOfNodes int    `json:"number_of_nodes"`
	}
	body := struct {
		FunctionID string  `json:"function_id"`
		Method     string  `json:"method"`
		Parameters []param `json:"parameters"`
		Config     config  `json:"config"`
	}{pkg.CID.String(), pkg.Name, []param{{"world"}}, config{"hi", 1}}
	data, _ := json.Marshal(body)
	return string(data)
}

// binaryForDisplay is our binary as the user would type it: relative to the working directory
// when it is below it (bin/b7s), absolute otherwise.
func (d *devnet) binaryForDisplay() string {
	wd, err := os.Getwd()
	if err != nil {
		return d.exe
	}
	rel, err := filepath.Rel(wd, d.exe)
	if err != nil || strings.HasPrefix(rel, "..") {
		return d.exe
	}
	if !strings.Contains(rel, string(filepath.Separator)) {
		return "." + string(filepath.Separator) + rel
	}
	return rel
}
