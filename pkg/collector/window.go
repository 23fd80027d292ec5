package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/iter8-knative/iter8/events"
)

// Source is the CloudEvents source of the windows the collector produces:
// the functions' Knative Service that runs it, in Knative's
// /apis/v1/namespaces/NS/RESOURCE/NAME convention. It is part of each
// window's dedupe key, so every replica must use the same.
const Source = "/apis/v1/namespaces/iter8-system/services/iter8-functions"

// Window is one collected metrics window of one experiment. It has no
// dedupe key: the functions count it once by Since, the collector's mark,
// which they move to the window's end in the same write (and, sent as an
// event, its id is events.WindowID: see Event).
type Window struct {
	Data events.MetricsObserved
	// Missing lists the metrics that had no data in the window, none of
	// them with onMissing "fail".
	Missing Missing
}

// Experiment is what the collector needs to know of one running
// experiment.
type Experiment struct {
	// Namespace and Service name the Knative Service.
	Namespace, Service string
	Spec               events.ExperimentSpec
	// Versions are the experiment's revisions, baseline first.
	Versions []string
	// Since is where the next window starts: the end of the last window
	// the collector folded in, or the experiment's start. Zero: no window.
	Since time.Time
}

// Windows is the PingSource tick's view of Collect: for experiment x, it
// collects the window from x.Since to now less the delay. It returns no
// window when the window would be empty, or when no metric has data yet;
// the next tick then covers the time again, so nothing is lost. A metric
// with onMissing "fail" and no data returns a *MissingError (permanent):
// fail the experiment with its message.
func (c *Collector) Windows(ctx context.Context, x Experiment, now time.Time) ([]Window, error) {
	from := x.Since
	to := now.Add(-c.delay).Truncate(time.Millisecond)
	if from.IsZero() || !to.After(from) {
		return nil, nil
	}
	obs, missing, err := c.Collect(ctx, x.Namespace, x.Service, x.Spec, x.Versions, from, to)
	if err != nil {
		return nil, err
	}
	if err := missing.Err(); err != nil {
		return nil, fmt.Errorf("collect %s: %w", events.Subject(x.Namespace, x.Service), err)
	}
	if len(obs.Versions) == 0 {
		return nil, nil
	}
	return []Window{{Data: obs, Missing: missing}}, nil
}

// Event wraps a collected window in a CloudEvent for ns/service, for a
// broker or K_SINK. Its id is events.WindowID of the subject, Source and the
// window, and its time the window's end, so that re-sending a window, even
// with counts that a late scrape has changed, yields the same id and is
// deduplicated.
func Event(ns, service string, obs events.MetricsObserved) (event.Event, error) {
	subject := events.Subject(ns, service)
	e, err := events.New(events.TypeMetricsObserved, Source, subject, obs.Window.End.Time, obs)
	if err != nil {
		return event.Event{}, fmt.Errorf("collector event for %s: %w", subject, err)
	}
	e.SetID(events.WindowID(subject, Source, obs.Window))
	return e, nil
}
