package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/b7s-actor/b7s/daemon"
)

// ready is what `b7s run` prints once the node is up: who it is and where to reach it.
type ready struct {
	Event  string   `json:"event"` // always "ready", so a JSON reader can pick the line out
	PeerID string   `json:"peer_id"`
	Role   string   `json:"role"`
	Listen []string `json:"listen"`
	HTTP   string   `json:"http,omitempty"`  // REST API and health (or a worker's metrics address)
	Debug  string   `json:"debug,omitempty"` // the operator's /debug/*, /metrics, pprof
}

func readyLine(d *daemon.Daemon) ready {
	return ready{Event: "ready", PeerID: d.Host.ID().String(), Role: d.Config.Role, Listen: d.Host.Addresses(),
		HTTP: d.HTTPAddress(), Debug: d.DebugAddress()}
}

// String is the line for people: b7s ready: worker 12D3KooW… listen … http … debug …
func (r ready) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "b7s ready: %s %s listen %s", r.Role, r.PeerID, strings.Join(r.Listen, ","))
	if r.HTTP != "" {
		fmt.Fprintf(&b, " http %s", r.HTTP)
	}
	if r.Debug != "" {
		fmt.Fprintf(&b, " debug %s", r.Debug)
	}
	return b.String()
}

// writeReady prints r as one line: JSON when the logs are JSON, else for people.
func writeReady(w io.Writer, r ready, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprintln(w, r.String())
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}
