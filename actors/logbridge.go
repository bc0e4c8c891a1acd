package actors

import (
	"context"
	"log/slog"

	"github.com/rs/zerolog"
)

// slogToZerolog forwards protoactor's slog records into the node's zerolog logger, so one
// stream carries every log line.
type slogToZerolog struct {
	log    zerolog.Logger
	attrs  []slog.Attr
	prefix string
}

// newSlogLogger returns a slog.Logger that writes through log.
func newSlogLogger(log zerolog.Logger) *slog.Logger {
	return slog.New(&slogToZerolog{log: log})
}

func (h *slogToZerolog) Enabled(_ context.Context, level slog.Level) bool {
	return h.log.GetLevel() <= zerologLevel(level)
}

func (h *slogToZerolog) Handle(_ context.Context, r slog.Record) error {
	ev := h.log.WithLevel(zerologLevel(r.Level))
	for _, a := range h.attrs {
		ev = addAttr(ev, h.prefix, a)
	}
	r.Attrs(func(a slog.Attr) bool {
		ev = addAttr(ev, h.prefix, a)
		return true
	})
	ev.Msg(r.Message)
	return nil
}

func (h *slogToZerolog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *slogToZerolog) WithGroup(name string) slog.Handler {
	c := *h
	c.prefix = h.prefix + name + "."
	return &c
}

func addAttr(ev *zerolog.Event, prefix string, a slog.Attr) *zerolog.Event {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			ev = addAttr(ev, prefix+a.Key+".", g)
		}
		return ev
	}
	return ev.Interface(prefix+a.Key, v.Any())
}

func zerologLevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		// protoactor's info lines (system started, actor recovering) are diagnostics for us;
		// failures show up as restarts in the tree and in our own warnings.
		return zerolog.DebugLevel
	default:
		return zerolog.DebugLevel
	}
}
