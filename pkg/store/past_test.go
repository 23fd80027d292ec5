package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
)

var pastT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// pastRun plays experiments on one Service of a fake API server as the
// functions do, through Store.Update: n counts the experiments started,
// and the i-th ends at hour i.
type pastRun struct {
	t  *testing.T
	cs *fake.Clientset
	s  *Store
	n  int
}

func newPastRun(t *testing.T, annotations map[string]string, opts ...Option) *pastRun {
	t.Helper()
	svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", Annotations: annotations}}
	cs := fake.NewSimpleClientset(svc)
	return &pastRun{t: t, cs: cs, s: New(cs.ServingV1(), opts...)}
}

// pastSpec is an experiment of kind with two ratio metrics and a mean:
// only the ratios are remembered.
func pastSpec(kind string) events.ExperimentSpec {
	spec := events.ExperimentSpec{Kind: kind, Baseline: "shop-v1", Metrics: []events.MetricSpec{
		{Name: "errors", Type: events.MetricRatio}, {Name: "latency", Type: events.MetricMean}, {Name: "conversion", Type: events.MetricRatio}}}
	if kind != events.KindPerformance {
		spec.Candidates = []string{"shop-v2"}
	}
	return spec
}

func (r *pastRun) write(key string, m Mutation) Result {
	r.t.Helper()
	res, err := r.s.Update(context.Background(), "default", "shop", key, m)
	if err != nil {
		r.t.Fatalf("%s: %v", key, err)
	}
	return res
}

func (r *pastRun) get() Record {
	r.t.Helper()
	rec, err := r.s.Get(context.Background(), "default", "shop")
	if err != nil {
		r.t.Fatalf("a read failed: %v", err)
	}
	return rec
}

// start starts experiment id of kind, with no data yet.
func (r *pastRun) start(id, kind string) {
	r.n++
	spec := pastSpec(kind)
	st := experiment.State{Schema: experiment.SchemaVersion, ID: id, Phase: experiment.PhaseRunning,
		Versions: spec.Versions(), Since: events.Time{Time: pastT0}}
	for range st.Versions {
		st.Data = append(st.Data, make([]stats.Data, len(spec.Metrics)))
	}
	r.write("start-"+id, func(Record) (*Change, error) { return &Change{Spec: &spec, State: st, Status: "x"}, nil })
}

// window folds 100 requests per version in, errs of them errors and 10
// conversions; key names the event.
func (r *pastRun) window(key string, errs float64) {
	r.write(key, func(rec Record) (*Change, error) {
		st := rec.State.Clone()
		for v := range st.Data {
			st.Data[v][0].Successes, st.Data[v][0].Trials = st.Data[v][0].Successes+errs, st.Data[v][0].Trials+100
			st.Data[v][1].Count += 100
			st.Data[v][2].Successes, st.Data[v][2].Trials = st.Data[v][2].Successes+10, st.Data[v][2].Trials+100
		}
		st.Iteration++
		return &Change{State: st, Status: "x"}, nil
	})
}

// finish ends the running experiment in phase under key; on an ended one
// it writes its state again, as a late event's write would.
func (r *pastRun) finish(key string, phase experiment.Phase) Result {
	return r.write(key, func(rec Record) (*Change, error) { return &Change{State: ended(rec, phase, r.n), Status: "x"}, nil })
}

func ended(rec Record, phase experiment.Phase, n int) experiment.State {
	st := rec.State.Clone()
	if st.Phase.Terminal() {
		st.Reason = "written again"
		return st
	}
	st.Phase, st.Since = phase, events.Time{Time: pastT0.Add(time.Duration(n) * time.Hour)}
	if phase == experiment.PhaseCompleted {
		st.Outcome = events.OutcomeRolledBack
	}
	return st
}

// canary runs canary id through windows windows of errs errors each.
func (r *pastRun) canary(id string, windows int, errs float64) {
	r.start(id, events.KindCanary)
	for i := range windows {
		r.window(fmt.Sprintf("%s-w%d", id, i), errs)
	}
	r.finish("end-"+id, experiment.PhaseCompleted)
}

// past is the entry the n-th experiment, id, leaves after windows windows
// of errs errors each.
func past(id string, n, windows int, errs float64, outcome string) experiment.Past {
	w := float64(windows)
	return experiment.Past{ID: id, Outcome: outcome, Ended: events.Time{Time: pastT0.Add(time.Duration(n) * time.Hour)},
		Ratios: map[string]experiment.Count{"errors": {Successes: errs * w, Trials: 100 * w}, "conversion": {Successes: 10 * w, Trials: 100 * w}}}
}

// TestPastRemembered: the write that ends a canary appends its candidate's
// ratio counts to the Service's past, once; nothing else does, and nothing
// removes it.
func TestPastRemembered(t *testing.T) {
	rolledBack := events.OutcomeRolledBack
	nine := func(r *pastRun) {
		for i := range 9 {
			r.canary(fmt.Sprintf("c%d", i+1), 1, float64(i))
		}
	}
	var nineWant []experiment.Past
	for i := 1; i < 9; i++ {
		nineWant = append(nineWant, past(fmt.Sprintf("c%d", i+1), i+1, 1, float64(i), rolledBack))
	}
	for _, tc := range []struct {
		name string
		run  func(*pastRun)
		want []experiment.Past
		// same, when set, is the step after which the annotation must be
		// as it was before, byte for byte.
		same func(*pastRun)
	}{
		{name: "a finished canary leaves its candidate's ratio counts",
			run:  func(r *pastRun) { r.canary("c1", 3, 2) },
			want: []experiment.Past{past("c1", 1, 3, 2, rolledBack)}},
		{name: "a failed canary too",
			run: func(r *pastRun) {
				r.start("c1", events.KindCanary)
				r.window("w", 1)
				r.finish("fail", experiment.PhaseFailed)
			},
			want: []experiment.Past{past("c1", 1, 1, 1, "")}},
		{name: "a redelivered terminal event appends nothing",
			run: func(r *pastRun) { r.canary("c1", 1, 1) },
			same: func(r *pastRun) {
				if res := r.finish("end-c1", experiment.PhaseCompleted); !res.Duplicate {
					r.t.Errorf("the redelivery was not recognised")
				}
			},
			want: []experiment.Past{past("c1", 1, 1, 1, rolledBack)}},
		{name: "later writes on a finished canary append nothing",
			run: func(r *pastRun) { r.canary("c1", 1, 1) },
			same: func(r *pastRun) {
				r.finish("late-1", experiment.PhaseCompleted)
				r.finish("late-2", experiment.PhaseCompleted)
			},
			want: []experiment.Past{past("c1", 1, 1, 1, rolledBack)}},
		{name: "the ninth finished canary drops the oldest", run: nine, want: nineWant},
		{name: "A/B and performance experiments leave nothing",
			run: func(r *pastRun) {
				for _, kind := range []string{events.KindAB, events.KindABN, events.KindPerformance} {
					r.start(kind, kind)
					r.window(kind+"-w", 1)
					r.finish(kind+"-end", experiment.PhaseCompleted)
				}
			}},
		{name: "a canary whose candidate had no request leaves nothing",
			run: func(r *pastRun) { r.canary("c1", 0, 0) }},
		{name: "a new experiment keeps the history",
			run: func(r *pastRun) { r.canary("c1", 2, 1) },
			same: func(r *pastRun) {
				r.start("c2", events.KindCanary)
				r.window("c2-w", 5)
				r.start("ab", events.KindAB) // over a running one: the store does not refuse it
			},
			want: []experiment.Past{past("c1", 1, 2, 1, rolledBack)}},
		{name: "the next canary adds to it",
			run:  func(r *pastRun) { r.canary("c1", 2, 1); r.canary("c2", 1, 7) },
			want: []experiment.Past{past("c1", 1, 2, 1, rolledBack), past("c2", 2, 1, 7, rolledBack)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newPastRun(t, nil)
			tc.run(r)
			rec := r.get()
			if tc.same != nil {
				before := rec.Service.Annotations[AnnotationPast]
				tc.same(r)
				rec = r.get()
				if after := rec.Service.Annotations[AnnotationPast]; after != before {
					t.Errorf("annotation changed:\nbefore %s\nafter  %s", before, after)
				}
			}
			if rec.PastErr != nil {
				t.Fatalf("the store cannot read what it wrote: %v", rec.PastErr)
			}
			if diff := cmp.Diff(tc.want, rec.Past); diff != "" {
				t.Errorf("past (-want +got):\n%s", diff)
			}
			if _, ok := rec.Service.Annotations[AnnotationPast]; ok != (tc.want != nil) {
				t.Errorf("annotation present = %v, want %v", ok, tc.want != nil)
			}
			if raw := rec.Service.Annotations[AnnotationPast]; len(raw) > MaxPastBytes/4 {
				t.Errorf("%d entries take %d bytes; a few ratio metrics should take far less than MaxPastBytes %d", len(rec.Past), len(raw), MaxPastBytes)
			}
		})
	}
}

// TestPastIsTheFinalCandidateData: the entry's counts are the final
// state's candidate data, read from what the store wrote.
func TestPastIsTheFinalCandidateData(t *testing.T) {
	r := newPastRun(t, nil)
	r.canary("c1", 4, 3)
	rec := r.get()
	want := experiment.Past{ID: "c1", Outcome: rec.State.Outcome, Ended: rec.State.Since, Ratios: map[string]experiment.Count{
		"errors":     {Successes: rec.State.Data[1][0].Successes, Trials: rec.State.Data[1][0].Trials},
		"conversion": {Successes: rec.State.Data[1][2].Successes, Trials: rec.State.Data[1][2].Trials},
	}}
	if diff := cmp.Diff([]experiment.Past{want}, rec.Past); diff != "" {
		t.Errorf("past (-final state +annotation):\n%s", diff)
	}
}

// TestPastOnceAcrossAConflict: another process ends the canary while this
// one's write is in flight; this one's write conflicts, re-reads the
// ended canary and re-runs its mutation on it: one entry, not two.
func TestPastOnceAcrossAConflict(t *testing.T) {
	r := newPastRun(t, nil)
	r.start("c1", events.KindCanary)
	r.window("w", 2)
	running := r.get().Service.DeepCopy()

	// The other process's write, made on a copy of the Service.
	other := newPastRun(t, nil)
	if err := other.cs.Tracker().Update(servingv1.SchemeGroupVersion.WithResource("services"), running, "default"); err != nil {
		t.Fatal(err)
	}
	other.n = r.n
	other.finish("other", experiment.PhaseCompleted)
	theirs := other.get().Service

	calls := 0
	r.cs.PrependReactor("update", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		if calls++; calls > 1 {
			return false, nil, nil
		}
		if err := r.cs.Tracker().Update(servingv1.SchemeGroupVersion.WithResource("services"), theirs.DeepCopy(), "default"); err != nil {
			return true, nil, err
		}
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "shop", errors.New("stale"))
	})
	res := r.finish("mine", experiment.PhaseCompleted)
	if res.Conflicts != 1 {
		t.Errorf("%d conflicts, want 1", res.Conflicts)
	}
	got := r.get()
	if diff := cmp.Diff([]experiment.Past{past("c1", 1, 1, 2, events.OutcomeRolledBack)}, got.Past); diff != "" {
		t.Errorf("past (-want +got):\n%s", diff)
	}
	if got.State.Reason != "written again" {
		t.Errorf("reason %q: this process's mutation did not re-run on the ended canary", got.State.Reason)
	}
}

// TestPastGroupCommit: in one group commit, the member that ends the
// canary appends and the members after it, which start from its record,
// do not.
func TestPastGroupCommit(t *testing.T) {
	r := newPastRun(t, nil)
	r.start("c1", events.KindCanary)
	r.window("w", 2)
	finish := func(rec Record) (*Change, error) {
		return &Change{State: ended(rec, experiment.PhaseCompleted, 1), Status: "x"}, nil
	}
	group := []*commit{newCommit(context.Background(), "a", finish), newCommit(context.Background(), "b", finish)}
	if err := r.s.attempt(context.Background(), "default", "shop", group, false, nil); err != nil {
		t.Fatal(err)
	}
	for i, c := range group {
		if c.err != nil || !c.wrote {
			t.Fatalf("member %d: wrote %v, %v", i, c.wrote, c.err)
		}
	}
	want := []experiment.Past{past("c1", 1, 1, 2, events.OutcomeRolledBack)}
	if diff := cmp.Diff(want, group[1].res.Written.Past); diff != "" {
		t.Errorf("the group's record (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, r.get().Past); diff != "" {
		t.Errorf("past (-want +got):\n%s", diff)
	}
}
