package commands

import (
	"log/slog"
	"net/http"
	"time"
)

// logTransport logs each request a client sends and the response it gets,
// one line each at debug level, for --log-http. It logs the method, the
// URL without its query, the status and the time taken: never headers or
// bodies, which carry bearer tokens and the experiments' data.
type logTransport struct {
	next http.RoundTripper
	log  *slog.Logger
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	u := *req.URL
	u.RawQuery, u.User = "", nil
	t.log.Debug("http request", "method", req.Method, "url", u.String())
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		t.log.Debug("http error", "method", req.Method, "url", u.String(), "error", err, "took", took)
		return nil, err
	}
	t.log.Debug("http response", "method", req.Method, "url", u.String(), "status", resp.StatusCode, "took", took)
	return resp, nil
}

// httpLogger is the --log-http logger (text lines to w at debug level), or
// nil when HTTP is not logged: --no-log-http, kn's negation, wins.
func (f *kubeFlags) httpLogger() *slog.Logger {
	if !f.logHTTP || f.noLogHTTP || f.httpLog == nil {
		return nil
	}
	return slog.New(slog.NewTextHandler(f.httpLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// wrapHTTP returns rt logged by l, or rt itself when l is nil.
func wrapHTTP(rt http.RoundTripper, l *slog.Logger) http.RoundTripper {
	if l == nil {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &logTransport{next: rt, log: l}
}

// loggedClient is c with its requests logged by l; c itself when l is nil.
func loggedClient(c *http.Client, l *slog.Logger) *http.Client {
	if l == nil {
		return c
	}
	logged := *c
	logged.Transport = wrapHTTP(c.Transport, l)
	return &logged
}
