package functions

import (
	"context"
	"errors"
	"log/slog"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/store"
)

func (h *Handlers) collectOne(ctx context.Context, rec store.Record) error {
	ns, name := rec.Service.Namespace, rec.Service.Name
	if h.collect != nil {
		windows, err := h.collect.Windows(ctx, rec, h.now())
		var missing *collector.MissingError
		var limit *collector.LimitError
		if errors.As(err, &missing) || errors.As(err, &limit) {
			// A metric with onMissing "fail" had no data, or a query
			// brought back more than the collector takes: that is the
			// experiment's failure, shown in its status, not the tick's.
			return h.failMissing(ctx, ns, name, err)
		}
		if err != nil {
			return err
		}
		for _, w := range windows {
			res, out, err := h.observeFrom(ctx, ns, name, w.Key, w.Data, true)
			if err != nil {
				return err
			}
			if !res.Duplicate {
				h.forward(ctx, ns, name, out)
			}
		}
	}
	now := h.now()
	var out experiment.Result
	_, err := h.store.Update(ctx, ns, name, "", func(r store.Record) (*store.Change, error) {
		spec, st, err := running(r)
		if err != nil {
			return nil, err
		}
		next, result, err := h.engine.Tick(spec, st, now)
		if err != nil {
			return nil, engineError(r.Name(), err)
		}
		if !result.Changed {
			return nil, nil
		}
		out = result.WithService(r.Service.Name)
		return change(spec, next, out), nil
	})
	if err == nil {
		h.forward(ctx, ns, name, out)
	}
	return err
}

// forward sends a tick's emitted events to K_SINK; a tick has no one to
// reply to about a particular Service.
func (h *Handlers) forward(ctx context.Context, ns, name string, out experiment.Result) {
	if h.emit == nil {
		return
	}
	h.sink(ctx, h.outbound(ctx, ns, name, out), slog.String("service", ns+"/"+name))
}

// failMissing ends an experiment whose metric with onMissing "fail" had no
// data, or whose query was over a limit, rolling back as onFailure says.
func (h *Handlers) failMissing(ctx context.Context, ns, name string, missing error) error {
	now := h.now()
	var out experiment.Result
	_, err := h.store.Update(ctx, ns, name, "", func(r store.Record) (*store.Change, error) {
		spec, st, err := running(r)
		if err != nil {
			return nil, err
		}
		next, result, err := h.engine.Fail(spec, st, missing.Error(), now)
		if err != nil {
			return nil, engineError(r.Name(), err)
		}
		out = result.WithService(r.Service.Name)
		ch := change(spec, next, out)
		if spec.Defaulted().OnFailure == events.OnFailureRollback && st.Traffic != nil {
			ch.Traffic = map[string]int{}
			for _, v := range st.Versions {
				ch.Traffic[v] = 0
			}
			ch.Traffic[st.Versions[0]] = 100
		}
		return ch, nil
	})
	if err == nil {
		h.forward(ctx, ns, name, out)
	}
	return err
}
