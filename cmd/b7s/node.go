package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel"

	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon"
	"github.com/b7s-actor/b7s/internal/sdnotify"
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
	jsonLogs := jsonLogFormat(cfg.Log.Format, stderr)
	log := newLogger(cfg.Log, jsonLogs, stderr)
	// OpenTelemetry's exporters report through its process-wide handler: into the node's log.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn().Err(err).Msg("tracing") }))
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
	notifySocket := os.Getenv("NOTIFY_SOCKET")
	ready := readyLine(d)
	if err := writeReady(stdout, ready, jsonLogs); err != nil {
		log.Warn().Err(err).Msg("print the ready line")
	}
	if err := sdnotify.Notify(notifySocket, sdnotify.Ready+"\n"+sdnotify.Status(ready.String())); err != nil {
		log.Warn().Err(err).Msg("tell the service manager the node is ready")
	}
	err = serve(ctx, d, d.Node.Failed(), hup, log)
	// A second signal stops at once: the drain and the stop are not waited for. The store is
	// bbolt, whose committed transactions survive the process ending anywhere. Caught before
	// the first handler is released, so no signal in between takes the default action.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	stop()
	go func() {
		if _, ok := <-again; ok {
			log.Warn().Msg("second signal: exiting at once")
			os.Exit(1)
		}
	}()
	_ = sdnotify.Notify(notifySocket, sdnotify.Stopping)
	if err == nil {
		drain(d, cfg.DrainTimeout, log)
	}
	log.Info().Msg("stopping")
	d.Stop()
	log.Info().Msg("stopped")
	return err
}

// drain lets the node finish what it holds, for at most timeout.
func drain(d *daemon.Daemon, timeout time.Duration, log zerolog.Logger) {
	start := time.Now()
	log.Info().Dur("drain_timeout", timeout).Msg("draining: no new work; waiting for what is in flight")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := d.Drain(ctx); err != nil {
		log.Warn().Err(err).Dur("took", time.Since(start)).Msg("drain timed out; stopping what still runs (its requesters are told)")
		return
	}
	log.Info().Dur("took", time.Since(start)).Msg("drained")
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

// jsonLogFormat reports whether logs are JSON lines: as configured, or with "auto" when w is
// not a terminal (a service manager's journal, a container's log, a pipe).
func jsonLogFormat(format string, w io.Writer) bool {
	switch format {
	case config.LogFormatJSON:
		return true
	case config.LogFormatConsole:
		return false
	}
	f, ok := w.(interface{ Fd() uintptr })
	return !ok || !isatty.IsTerminal(f.Fd())
}

func newLogger(c config.Log, json bool, w io.Writer) zerolog.Logger {
	out := w
	if !json {
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
