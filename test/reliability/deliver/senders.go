package deliver

import (
	"context"
	"net/http"
	"sync"
)

// Senders is a pool of concurrent senders, each delivering events with
// retries as a Knative sender does.
type Senders struct {
	work chan Event
	wg   sync.WaitGroup
}

// Senders starts n senders on c. Every attempt is counted in tally; lost is
// called for each event not finally answered 200. Send events, then Close.
func (c *Client) Senders(ctx context.Context, n int, tally *Tally, lost func(Event, Reply, error)) *Senders {
	s := &Senders{work: make(chan Event)}
	for range n {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for e := range s.work {
				r, a, err := c.Deliver(ctx, e)
				tally.Add(a)
				if err != nil || r.Status != http.StatusOK {
					lost(e, r, err)
				}
			}
		}()
	}
	return s
}

// Send hands e to a sender; false when ctx ended first.
func (s *Senders) Send(ctx context.Context, e Event) bool {
	select {
	case s.work <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

// Close waits until every event sent has been delivered or given up.
func (s *Senders) Close() {
	close(s.work)
	s.wg.Wait()
}
