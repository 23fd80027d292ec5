package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// DefaultSource is the CloudEvents source of the events this package builds.
const DefaultSource = "/iter8/reliability"

// Event is one CloudEvent, sent in binary mode: attributes as ce- headers,
// the data as the body.
type Event struct {
	ID, Source, Type, Subject string
	// ContentType defaults to application/json.
	ContentType string
	Data        []byte
}

// New builds an event with JSON data from DefaultSource.
func New(typ, id, subject string, data any) (Event, error) {
	b, ok := data.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(data); err != nil {
			return Event{}, fmt.Errorf("event %s: %w", id, err)
		}
	}
	return Event{ID: id, Source: DefaultSource, Type: typ, Subject: subject, Data: b}, nil
}

// Reply is the function's answer to one delivery.
type Reply struct {
	Status int
	// Type is the reply event's type, if any.
	Type string
	Body string
}

// Attempts counts what a delivery went through.
type Attempts struct {
	N int
	// Statuses counts the answers by HTTP status; 0 counts lost
	// connections (refused, reset, timed out).
	Statuses map[int]int
}

// Client posts events to the functions.
type Client struct {
	URL  string
	HTTP *http.Client
	// Backoff is the first pause between redeliveries; it doubles up to
	// MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Answered, when set, is told of every attempt's answer (status 0: no
	// answer), as it comes, so that a fault test can wait until a fault
	// has been met rather than for a while.
	Answered func(e Event, status int)

	inflight atomic.Int64
}

// InFlight is how many requests are sent and not yet answered.
func (c *Client) InFlight() int64 { return c.inflight.Load() }

// NewClient returns a client with a 30 s request timeout (Knative's
// delivery timeout is of that order) and a short backoff fit for tests.
func NewClient(url string) *Client {
	return &Client{URL: url, HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		Backoff: 10 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
}

// Post delivers e once. err is set only when no answer came back.
func (c *Client) Post(ctx context.Context, e Event) (Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(e.Data))
	if err != nil {
		return Reply{}, err
	}
	src := e.Source
	if src == "" {
		src = DefaultSource
	}
	ct := e.ContentType
	if ct == "" {
		ct = events.ContentTypeJSON
	}
	for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": e.ID, "Ce-Source": src,
		"Ce-Type": e.Type, "Ce-Subject": e.Subject, "Content-Type": ct} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	c.inflight.Add(1)
	resp, err := c.HTTP.Do(req)
	c.inflight.Add(-1)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Status: resp.StatusCode, Type: resp.Header.Get("Ce-Type"), Body: string(body)}, nil
}

// Deliver posts e until the function answers with a status Knative does not
// retry (2xx, or a permanent 4xx), as Knative Eventing's delivery does with
// unlimited retries. It gives up only when ctx ends.
func (c *Client) Deliver(ctx context.Context, e Event) (Reply, Attempts, error) {
	a := Attempts{Statuses: map[int]int{}}
	pause := c.Backoff
	for {
		a.N++
		r, err := c.Post(ctx, e)
		a.Statuses[r.Status]++
		if c.Answered != nil {
			c.Answered(e, r.Status)
		}
		if err == nil && !events.Retried(r.Status) {
			return r, a, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("HTTP %d: %s", r.Status, r.Body)
			}
			return r, a, fmt.Errorf("event %s: gave up after %d attempts: %w (last: %v)", e.ID, a.N, ctx.Err(), err)
		case <-time.After(pause):
		}
		pause = min(2*pause, c.MaxBackoff)
	}
}

// Tally adds up attempts from concurrent deliveries.
type Tally struct {
	mu       sync.Mutex
	Statuses map[int]int
	Attempts int
}

// Add records one delivery's attempts.
func (t *Tally) Add(a Attempts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.Statuses == nil {
		t.Statuses = map[int]int{}
	}
	t.Attempts += a.N
	for s, n := range a.Statuses {
		t.Statuses[s] += n
	}
}

// Snapshot returns a copy of the statuses seen so far.
func (t *Tally) Snapshot() map[int]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[int]int, len(t.Statuses))
	for s, n := range t.Statuses {
		out[s] = n
	}
	return out
}
