package raft

import (
	"bytes"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

// newHCLog gives hashicorp/raft a logger that writes into log at debug level. Raft's own lines
// are chatty (a disbanded peer is "failed to contact" until the leader shuts down too), so
// they appear only when the node logs at debug; the replica's actor logs what matters.
func newHCLog(log zerolog.Logger) hclog.Logger {
	level := hclog.Off
	if log.GetLevel() <= zerolog.DebugLevel {
		level = hclog.Warn
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            "raft",
		Level:           level,
		Output:          lineWriter{log: log.With().Str("component", "raft").Logger()},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

// lineWriter logs each line hclog writes.
type lineWriter struct{ log zerolog.Logger }

func (w lineWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			w.log.Debug().Msg(string(line))
		}
	}
	return len(p), nil
}
