package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/b7s-actor/b7s/p2p"
)

// commit is set at build time with -ldflags "-X main.commit=…"; without it the VCS revision Go
// stamps into the binary is used, if any.
var commit = ""

// versionInfo is what `b7s version` says.
type versionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
	// Protocols are the libp2p protocols the node speaks: the original's direct messages,
	// gossipsub's versions (the original's v0.12 speaks up to 1.1.0), and ours for request paths
	// (original nodes do not answer it).
	Protocols []string `json:"protocols"`
	// Topic is the default gossipsub topic every node joins.
	Topic string `json:"topic"`
	// Wire names the message format: the original b7s node's JSON messages.
	Wire string `json:"wire"`
}

func currentVersion() versionInfo {
	v := versionInfo{Version: version, Commit: commit, Go: runtime.Version(),
		Protocols: []string{p2p.ProtocolID, string(pubsub.GossipSubID_v13), string(pubsub.GossipSubID_v12),
			string(pubsub.GossipSubID_v11), string(pubsub.GossipSubID_v10), p2p.TraceProtocolID},
		Topic: p2p.DefaultTopic,
		Wire:  "b7s JSON messages with W3C trace context in carrier (blocklessnetwork/b7s, late 2024)"}
	if v.Commit == "" {
		v.Commit = "unknown"
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					v.Commit = s.Value
				}
			}
		}
	}
	return v
}

// runVersion is `b7s version`.
func runVersion(args []string, stdout io.Writer) error {
	fs := commandFlags("version", "[--json]", "Print the version, the commit, the Go version and the wire protocols this node speaks.", stdout)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v := currentVersion()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	fmt.Fprintf(stdout, "b7s %s (commit %s, %s)\n", v.Version, v.Commit, v.Go)
	fmt.Fprintf(stdout, "wire:      %s\n", v.Wire)
	fmt.Fprintf(stdout, "topic:     %s\n", v.Topic)
	for _, p := range v.Protocols {
		fmt.Fprintf(stdout, "protocol:  %s\n", p)
	}
	return nil
}
