package functions

import (
	"context"
	"log/slog"
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
