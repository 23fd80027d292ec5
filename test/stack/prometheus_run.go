package stack

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/store"
)

// PingSource is the source of the ticks Tick sends, as a PingSource named
// iter8-tick in iter8-system would send them.
const PingSource = "/apis/v1/namespaces/iter8-system/pingsources/iter8-tick"

// StartCollected sends the start event with p's spec, whose custom
// metrics carry their query templates.
func (s *Stack) StartCollected(ctx context.Context, p *PrometheusPath) error {
	return s.start(ctx, p.x, p.Spec())
}

// StartCollectedAs is StartCollected with the start event's id: runs that
// start with the same id run the same experiment id, and so draw the same
// Monte Carlo samples.
func (s *Stack) StartCollectedAs(ctx context.Context, p *PrometheusPath, id string) error {
	x := p.x
	e, err := events.New(events.TypeExperimentStart, "/iter8/stack", events.Subject(x.Namespace, x.Service), time.Now(), p.Spec())
	if err != nil {
		return err
	}
	e.SetID(id)
	reply, err := s.SendEvent(ctx, e)
	if err != nil {
		return err
	}
	if reply != events.TypeExperimentStarted {
		return fmt.Errorf("start %s: reply %q, want %s", id, reply, events.TypeExperimentStarted)
	}
	return nil
}

// Tick delivers a PingSource tick with the given id to the functions, as
// Knative would: binary mode, no subject, no data; through the Broker when
// the stack has one.
func (s *Stack) Tick(ctx context.Context, id string) error {
	return s.tickAt(ctx, id, time.Now().UTC())
}

// tickAt is Tick with the tick's time: a tick delivered again keeps it.
func (s *Stack) tickAt(ctx context.Context, id string, at time.Time) error {
	if s.broker != nil {
		e := event.New()
		e.SetID(id)
		e.SetSource(PingSource)
		e.SetType(events.TypePing)
		e.SetTime(at)
		if _, _, err := s.sendBroker(ctx, e); err != nil {
			return fmt.Errorf("tick %s: %w", id, err)
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.FunctionsURL, http.NoBody)
	if err != nil {
		return err
	}
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", id)
	req.Header.Set("Ce-Source", PingSource)
	req.Header.Set("Ce-Type", events.TypePing)
	req.Header.Set("Ce-Time", at.Format(time.RFC3339Nano))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("tick %s: %w", id, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("tick %s: HTTP %d: %s", id, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// SendEvent delivers e to the functions in binary mode with its own id,
// source, subject and time, as a Trigger delivers an event another
// producer made, and returns the type of the reply ("" for none).
func (s *Stack) SendEvent(ctx context.Context, e event.Event) (string, error) {
	send := s.sendDirect
	if s.broker != nil {
		send = s.sendBroker
	}
	_, reply, err := send(ctx, e)
	if err != nil || reply == nil {
		return "", err
	}
	return reply.Type(), nil
}

// tick delivers one tick p.copies times at once, as redeliveries of one
// tick: the same id and time.
func (s *Stack) tick(ctx context.Context, p *PrometheusPath, id string) error {
	errs := make([]error, p.copies)
	at := time.Now().UTC()
	var wg sync.WaitGroup
	for c := range p.copies {
		wg.Go(func() { errs[c] = s.tickAt(ctx, id, at) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TickID is the id of the tick RunCollected sends after interval i of x.
func TickID(x Experiment, i int) string {
	return fmt.Sprintf("%s-%s-tick-%d", x.Namespace, x.Service, i)
}

// RunCollected drives the experiment through Prometheus until it ends or
// the scenario's horizon. Each interval lasts x.Interval of real time (one
// second when zero): it reads the split the Route serves, serves that
// interval's requests on the targets, waits until Prometheus has scraped
// them and the collector's delay has passed, and sends a tick; the tick
// must fold in exactly one window, which must cover the interval. Before
// the next interval's requests it waits until no scrape stamped at or
// before the window's end can still be reading a target, so that each
// request falls in exactly one window. x.Before and x.OnWindow are called
// as Run calls them.
func (s *Stack) RunCollected(ctx context.Context, x Experiment, p *PrometheusPath) (store.Record, error) {
	if x.Namespace != p.x.Namespace || x.Service != p.x.Service {
		return store.Record{}, fmt.Errorf("run %s/%s: the Prometheus path serves %s/%s", x.Namespace, x.Service, p.x.Namespace, p.x.Service)
	}
	gen, err := simulate.NewGenerator(x.Scenario, x.Seed)
	if err != nil {
		return store.Record{}, err
	}
	sv, err := servingclient.NewForConfig(s.Cluster.Config)
	if err != nil {
		return store.Record{}, err
	}
	interval := x.Interval
	if interval == 0 {
		interval = time.Second
	}
	rec, err := s.Store.Get(ctx, x.Namespace, x.Service)
	if err != nil {
		return rec, err
	}
	next := time.Now()
	for i := 0; i < x.Scenario.Traffic.MaxIntervals; i++ {
		if err := sleep(ctx, time.Until(next)); err != nil {
			return rec, err
		}
		next = time.Now().Add(interval)
		if r, ended, err := s.before(ctx, x, i); err != nil || ended {
			return r, err
		}
		routed, split, err := s.routedSplit(ctx, sv, x)
		if err != nil {
			return rec, err
		}
		now := time.Now()
		p.serve(gen.Window(now, now.Add(interval), x.Scenario.Traffic.RequestsPerInterval, split))
		servedAt := time.Now()
		if err := p.Prometheus.Settle(ctx, servedAt); err != nil {
			return rec, fmt.Errorf("interval %d: %w", i, err)
		}
		// The tick's window ends the delay before the tick: after the
		// scrape that saw this interval's requests.
		if err := sleep(ctx, p.delay); err != nil {
			return rec, err
		}
		before := rec.State
		if err := s.tick(ctx, p, TickID(x, i)); err != nil {
			return rec, fmt.Errorf("interval %d: %w", i, err)
		}
		if rec, err = s.Store.Get(ctx, x.Namespace, x.Service); err != nil {
			return rec, err
		}
		if ended(rec.State) && rec.State.Iteration == before.Iteration {
			// The tick ended the experiment without a window:
			// maxDuration, or a metric with onMissing fail.
			return rec, nil
		}
		if err := folded(i, before, rec.State, servedAt); err != nil {
			return rec, err
		}
		if x.OnWindow != nil {
			if err := x.OnWindow(i, maps.Clone(routed), rec); err != nil {
				return rec, err
			}
		}
		if ended(rec.State) {
			return rec, nil
		}
		if err := p.Prometheus.Settle(ctx, rec.State.Collected.Time); err != nil {
			return rec, fmt.Errorf("interval %d: %w", i, err)
		}
	}
	return rec, nil
}

// folded checks that the tick after interval i folded in exactly one
// window, which covers the interval's requests served at servedAt.
func folded(i int, before, after *experiment.State, servedAt time.Time) error {
	if before == nil || after == nil {
		return fmt.Errorf("interval %d: no experiment state", i)
	}
	if n := after.Iteration - before.Iteration; n != 1 {
		return fmt.Errorf("interval %d: the tick folded in %d windows, want 1 (iteration %d -> %d, collected up to %s -> %s)",
			i, n, before.Iteration, after.Iteration, before.Collected.Format(time.RFC3339Nano), after.Collected.Format(time.RFC3339Nano))
	}
	if !after.Collected.After(servedAt) {
		return fmt.Errorf("interval %d: the window ends at %s, before the interval's requests were served at %s",
			i, after.Collected.Format(time.RFC3339Nano), servedAt.Format(time.RFC3339Nano))
	}
	return nil
}

func ended(st *experiment.State) bool {
	return st != nil && (st.Phase == experiment.PhaseCompleted || st.Phase == experiment.PhaseFailed)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
