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
func runNode(args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, os.Environ())
	if errors.Is(err, pflag.ErrHelp) {
		// Load prints nothing; the usage of run lists every setting with its default, its
		// environment variable and its YAML key.
		if _, werr := io.WriteString(stdout, "Usage: b7s run [flags]\n\nRun a node until SIGINT or SIGTERM.\n\n"); werr != nil {
			return fmt.Errorf("write usage: %w", werr)
		}
		if werr := config.Usage(stdout); werr != nil {
			return fmt.Errorf("write usage: %w", werr)
		}
		return err
	}
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads a worker's attestation. Registered before the node starts, so an early
	// SIGHUP is not the default action (ending the process).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	d, err := daemon.Start(ctx, cfg, daemon.Options{Log: log, Version: version})
	if err != nil {
		return err
	}
	err = serve(ctx, d, d.Node.Failed(), hup, log)
	stop() // a second signal now ends the process, should shutdown hang
	log.Info().Msg("shutting down")
	d.Stop()
	return err
}

// attestationReloader is what serve needs of a daemon.
type attestationReloader interface {
	ReloadAttestation(ctx context.Context) (changed bool, err error)
}

// serve runs until ctx ends (nil) or the node's actors fail (an error), reloading the
// attestation on every value from hup.
func serve(ctx context.Context, d attestationReloader, failed <-chan struct{}, hup <-chan os.Signal, log zerolog.Logger) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-failed:
			return errors.New("the node's actors failed too often and stopped; see the log")
		case <-hup:
			changed, err := d.ReloadAttestation(ctx)
			switch {
			case errors.Is(err, daemon.ErrNoAttestationSource):
				log.Info().Msg("SIGHUP: nothing to reload (no attributes-file or load-attributes)")
			case err != nil:
				log.Error().Err(err).Msg("SIGHUP: attestation reload failed; the one loaded before stays in use")
			case changed:
				log.Info().Msg("SIGHUP: attestation reloaded")
			default:
				log.Info().Msg("SIGHUP: attestation unchanged")
			}
		}
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
	fs := commandFlags("keygen", "[--out DIR]",
		"Write a new node identity: priv.bin, pub.bin, pubkey.txt, identity and peerid.txt, as the\n"+
			"original's keyforge does. An existing priv.bin in DIR is kept and its files rewritten.", stdout)
	out := fs.StringP("out", "o", ".", "directory to write the key files into")
	// The original keyforge calls it --output.
	fs.StringVar(out, "output", ".", "same as --out")
	if err := parseFlags(fs, args); err != nil {
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
