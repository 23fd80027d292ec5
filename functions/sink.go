package functions

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// DefaultSinkTokenFile is where Knative Eventing's SinkBinding mounts the
// OIDC token for its sink's audience when authentication-oidc is on
// (volume oidc-token at /oidc, key token); Eventing refreshes it.
const DefaultSinkTokenFile = "/oidc/token"

// DefaultSendTimeout bounds a send to K_SINK made outside any event's
// deadline.
const DefaultSendTimeout = 10 * time.Second

// SinkOption configures SinkEmitter.
type SinkOption func(*sinkConfig)

type sinkConfig struct{ tokenFile string }

// WithTokenFile makes every send carry "Authorization: Bearer" with the
// token read from path at that moment, so a refreshed token is picked up.
// An empty path sends no token.
func WithTokenFile(path string) SinkOption { return func(c *sinkConfig) { c.tokenFile = path } }

// SinkEmitter returns an emitter that posts events to sink (K_SINK) in
// binary mode, with an OIDC token when WithTokenFile names one: a Broker
// whose address has an audience refuses events without it.
func SinkEmitter(sink string, opts ...SinkOption) (func(context.Context, cloudevents.Event) error, error) {
	var cfg sinkConfig
	for _, o := range opts {
		o(&cfg)
	}
	c, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(sink))
	if err != nil {
		return nil, fmt.Errorf("K_SINK %s: %w", sink, err)
	}
	return func(ctx context.Context, e cloudevents.Event) error {
		// A send inherits the event's deadline (5/6 of the request
		// timeout): with a synchronous channel such as the InMemoryChannel
		// a collect event's send is answered only once its collection,
		// load burst included, is done, and a fixed shorter timeout would
		// fail and redeliver ticks that were on time.
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, DefaultSendTimeout)
			defer cancel()
		}
		if cfg.tokenFile != "" {
			tok, err := os.ReadFile(cfg.tokenFile)
			if err != nil {
				return fmt.Errorf("K_SINK %s: OIDC token: %w", sink, err)
			}
			ctx = cehttp.WithCustomHeader(ctx, http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(tok))}})
		}
		if res := c.Send(ctx, e); cloudevents.IsUndelivered(res) || !cloudevents.IsACK(res) {
			return fmt.Errorf("K_SINK %s: %w", sink, res)
		}
		return nil
	}, nil
}

// sinkTokenFile is the token file to use: ITER8_SINK_TOKEN_FILE when set
// ("none" for none), else SinkBinding's when it is mounted.
func sinkTokenFile(lookup func(string) (string, bool)) string {
	if v, ok := lookup("ITER8_SINK_TOKEN_FILE"); ok && v != "" {
		if v == "none" {
			return ""
		}
		return v
	}
	if _, err := os.Stat(DefaultSinkTokenFile); err == nil {
		return DefaultSinkTokenFile
	}
	return ""
}
