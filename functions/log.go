package functions

import (
	"context"
	"log/slog"

	"github.com/iter8-knative/iter8/events"
)

// loggerKey carries a request's logger in its context.
type loggerKey struct{}

// withLogger returns ctx carrying l, a logger with the attributes of the
// event (or Service) being handled, so that every log line of the request
// has them without repeating them.
func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// logger returns the request's logger, or the handlers' own outside a
// request.
func (h *Handlers) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return h.log
}

// MaxLogValue is the most bytes of a string (or error) attribute a log line
// carries: ids, types, subjects and field values come from senders, and an
// error quotes them, so one event must not make a megabyte log line.
const MaxLogValue = 256

// CapLogValues returns h with every string and error attribute clipped to
// MaxLogValue bytes, marked with the length it had when cut (events.Clip),
// in groups and in attributes added by With too. New applies it to the handlers'
// logger; cmd/iter8-functions to the process's default logger.
func CapLogValues(h slog.Handler) slog.Handler {
	if _, ok := h.(capHandler); ok {
		return h
	}
	return capHandler{h}
}

type capHandler struct{ next slog.Handler }

func (c capHandler) Enabled(ctx context.Context, l slog.Level) bool { return c.next.Enabled(ctx, l) }

func (c capHandler) Handle(ctx context.Context, r slog.Record) error {
	capped := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		capped.AddAttrs(capAttr(a))
		return true
	})
	return c.next.Handle(ctx, capped)
}

func (c capHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return capHandler{c.next.WithAttrs(capAttrs(as))}
}

func (c capHandler) WithGroup(name string) slog.Handler { return capHandler{c.next.WithGroup(name)} }

func capAttrs(as []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = capAttr(a)
	}
	return out
}

func capAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, events.Clip(v.String(), MaxLogValue))
	case slog.KindGroup:
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(capAttrs(v.Group())...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, events.Clip(err.Error(), MaxLogValue))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
