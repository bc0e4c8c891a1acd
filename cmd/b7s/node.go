package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon"
)

// runNode is `b7s run`: a node until SIGINT or SIGTERM.
func runNode(args []string, stderr io.Writer) error {
	cfg, err := config.Load(args, os.Environ())
	if errors.Is(err, pflag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, err := daemon.Start(ctx, cfg, daemon.Options{Log: log, Version: version})
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		stop() // a second signal now ends the process, should shutdown hang
		log.Info().Msg("shutting down")
		d.Stop()
		return nil
	case <-d.Node.Failed():
		d.Stop()
		return errors.New("the node's actors failed too often and stopped; see the log")
	}
}

func newLogger(c config.Log, w io.Writer) zerolog.Logger {
	out := w
	if c.Format != config.LogFormatJSON {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(out).Level(c.ZerologLevel()).With().Timestamp().Logger()
}

// runKeygen is `b7s keygen`: the five key files of spec §1.1, as the original's keyforge.
func runKeygen(args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("keygen", pflag.ContinueOnError)
	out := fs.StringP("out", "o", ".", "directory to write the key files into")
	// The original keyforge calls it --output.
	fs.StringVar(out, "output", ".", "same as --out")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the directory goes in --out)", fs.Arg(0))
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	key, err := p2pLoadOrCreate(*out)
	if err != nil {
		return err
	}
	id, err := peerID(key)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "peer ID %s written to %s\n", id, *out)
	return nil
}
