package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
)

func newWatchCmd(e *env, kf *kubeFlags) *cobra.Command {
	var (
		timeout time.Duration
		ef      etaFlags
	)
	cmd := &cobra.Command{
		Use:   "watch SERVICE",
		Short: "Follow an experiment live until it ends",
		Long: `Follow an experiment live until it ends.

The view is redrawn whenever the Service changes (through the Kubernetes watch
API, not polling) with gauges of how close the experiment is to a decision,
and the events the functions emitted (started, assessed, traffic changed,
completed, failed) with their ids, read from the Service's iter8.dev/events
log: no subscription to the Broker is needed, only read access to the Service.
Exits 0 when the experiment completes, whatever its outcome, and 1 if it
fails or --timeout passes first.`,
		Example: `  kn iter8 watch shop
  kn iter8 watch shop --timeout 30m`,
		Args: serviceArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := e.clients(kf)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			w := &watcher{e: e, cl: cl, kf: kf, ef: ef, name: args[0]}
			err = w.run(ctx)
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("service %s/%s: experiment still running after --timeout %s", cl.namespace, args[0], timeout)
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long, exiting 1 (default: never)")
	ef.register(cmd)
	return cmd
}

// watcher follows one Service.
type watcher struct {
	e    *env
	cl   *clients
	kf   *kubeFlags
	ef   etaFlags
	name string
	// last is what was drawn last, to skip updates iter8 did not make
	// (Knative's own status changes).
	last string
	// seq is the last emitted event shown, of experiment shownID.
	seq     int
	shownID string
	// eta is simulated once a window, from the first change seen on: the
	// first view comes at once, without waiting for the simulation.
	eta      etaCache
	watching bool
}

func (w *watcher) run(ctx context.Context) error {
	rv, done, err := w.refresh(ctx)
	if done || err != nil {
		return err
	}
	selector := fields.OneTermEqualSelector("metadata.name", w.name).String()
	for {
		wi, err := w.cl.serving.Services(w.cl.namespace).Watch(ctx, metav1.ListOptions{
			FieldSelector: selector, ResourceVersion: rv, AllowWatchBookmarks: true,
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("watching service %s/%s: %w", w.cl.namespace, w.name, err)
		}
		w.watching = true
		rv, done, err = w.follow(ctx, wi, rv)
		wi.Stop()
		if done || err != nil {
			return err
		}
	}
}

// follow consumes one watch until it ends, returning the resourceVersion
// to resume from. A watch that closes, or whose resourceVersion expired,
// resumes from a fresh read.
func (w *watcher) follow(ctx context.Context, wi watch.Interface, rv string) (string, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return rv, true, ctx.Err()
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return w.refresh(ctx)
			}
			switch ev.Type {
			case watch.Deleted:
				return rv, true, fmt.Errorf("service %s/%s was deleted", w.cl.namespace, w.name)
			case watch.Error:
				status := apierrors.FromObject(ev.Object)
				var se *apierrors.StatusError
				if errors.As(status, &se) && (se.ErrStatus.Code == http.StatusGone || apierrors.IsResourceExpired(status)) {
					return w.refresh(ctx)
				}
				return rv, true, fmt.Errorf("watching service %s/%s: %w", w.cl.namespace, w.name, status)
			case watch.Bookmark, watch.Added, watch.Modified:
				svc, isSvc := ev.Object.(*servingv1.Service)
				if !isSvc || svc.Name != w.name {
					continue
				}
				rv = svc.ResourceVersion
				if ev.Type == watch.Bookmark || w.key(svc) == w.last {
					continue
				}
				if _, done, err := w.refresh(ctx); done || err != nil {
					return rv, done, err
				}
			}
		}
	}
}

// key is what the view depends on.
func (w *watcher) key(svc *servingv1.Service) string {
	a := svc.Annotations
	return a[store.AnnotationExperiment] + "\x00" + a[store.AnnotationState] + "\x00" + a[store.AnnotationAssessment] +
		"\x00" + a[store.AnnotationEvents] + "\x00" + present.Split(nil, store.Split(svc))
}

// refresh reads the experiment through the store, draws it, and reports
// whether it has ended: done with nil when it completed, with an error when
// it failed.
func (w *watcher) refresh(ctx context.Context) (string, bool, error) {
	rec, in, err := loadExperiment(ctx, w.cl, w.kf, w.name, w.e.stderr)
	if err != nil {
		return "", true, err
	}
	w.last = w.key(rec.Service)
	if w.watching {
		in = w.eta.withETA(ctx, w.e, w.ef, in)
	}
	now := w.e.now()
	st := in.State
	ended := st.Phase == experiment.PhaseCompleted || st.Phase == experiment.PhaseFailed
	log, err := store.EventsOf(rec.Service)
	if err != nil {
		fmt.Fprintf(w.e.stderr, "Warning: not showing the emitted events: %v\n", err)
	}
	if err := w.draw(in, log, now, ended); err != nil {
		return "", true, err
	}
	switch st.Phase {
	case experiment.PhaseCompleted:
		return rec.Service.ResourceVersion, true, nil
	case experiment.PhaseFailed:
		return rec.Service.ResourceVersion, true, fmt.Errorf("experiment %s on %s/%s failed: %s", st.ID, in.Namespace, in.Service, st.Reason)
	}
	return rec.Service.ResourceVersion, false, nil
}

// draw redraws the whole view on a terminal; elsewhere (a log, a pipe) it
// appends a compact block per change, and the full description at the end.
func (w *watcher) draw(in present.Input, log []events.Emitted, now time.Time, ended bool) error {
	out := w.e.stdout
	if in.State.ID != w.shownID {
		w.seq, w.shownID = 0, in.State.ID
	}
	fresh, missed := present.EventsAfter(log, w.seq)
	if len(fresh) > 0 {
		w.seq = fresh[len(fresh)-1].Seq
	}
	if w.e.isTerminal {
		fmt.Fprint(out, "\x1b[H\x1b[2J")
		fmt.Fprintf(out, "kn iter8 watch %s · %s · Ctrl-C to stop\n\n", w.name, now.Format("15:04:05"))
		if err := present.WriteDescription(out, present.Describe(in, now)); err != nil {
			return err
		}
		if ps := present.ProgressOf(in, now); len(ps) > 0 {
			fmt.Fprintln(out)
			if err := present.WriteProgress(out, ps); err != nil {
				return err
			}
		}
		if len(log) > 0 {
			fmt.Fprintln(out)
			return present.WriteEvents(out, log, 8, 60)
		}
		return nil
	}
	if missed > 0 {
		fmt.Fprintln(out, present.MissedLine(missed))
	}
	for _, e := range fresh {
		fmt.Fprintln(out, present.EventLine(e))
	}
	fmt.Fprintf(out, "%s  %s\n", now.UTC().Format("15:04:05"), experiment.Summary(in.Spec, in.State))
	if ps := present.ProgressOf(in, now); len(ps) > 0 {
		if err := present.WriteProgress(&indent{w: out}, ps); err != nil {
			return err
		}
	}
	if ended {
		fmt.Fprintln(out)
		return present.WriteDescription(out, present.Describe(in, now))
	}
	return nil
}

// indent prefixes every line written through it with two spaces, however
// the writes split the lines.
type indent struct {
	w   io.Writer
	mid bool // within a line
}

func (i *indent) Write(p []byte) (int, error) {
	var b []byte
	for _, c := range p {
		if !i.mid {
			b = append(b, ' ', ' ')
		}
		b = append(b, c)
		i.mid = c != '\n'
	}
	if _, err := i.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}
