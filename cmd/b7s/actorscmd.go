package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// runActors is `b7s actors`: fetch a node's tree from /debug/actors and print it.
func runActors(args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("actors", pflag.ContinueOnError)
	apiURL := fs.String("api", "http://127.0.0.1:8080", "the node's HTTP address")
	asJSON := fs.Bool("json", false, "print the JSON tree instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the node goes in --api)", fs.Arg(0))
	}
	url := strings.TrimRight(normalizeURL(*apiURL), "/") + "/debug/actors"
	if !*asJSON {
		url += "?format=text"
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("get %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = io.Copy(stdout, resp.Body)
	return err
}

// normalizeURL accepts host:port as well as a full URL.
func normalizeURL(s string) string {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return s
	}
	return "http://" + s
}
