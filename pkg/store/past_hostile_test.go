package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// hostilePast are annotations no canary could have written, and the part
// of the error that names what is wrong.
var hostilePast = []struct{ name, raw, wantErr string }{
	{"not JSON", `[{"id":"c1","ratios":`, "unexpected end of JSON input"},
	{"not a list", `{"id":"c1"}`, "cannot unmarshal object"},
	{"empty", ``, "unexpected end of JSON input"},
	{"a count not a number", `[{"id":"c1","ended":"2026-01-01T00:00:00Z","ratios":{"errors":{"s":"x","t":1}}}]`, "ratios.s"},
	{"NaN", `[{"id":"c1","ended":"2026-01-01T00:00:00Z","ratios":{"errors":{"s":NaN,"t":1}}}]`, "invalid character 'N'"},
	{"negative successes", pastJSON(1, -1, 100), "[0].ratios.errors: -1 successes in 100 trials"},
	{"successes over trials", pastJSON(1, 200, 100), "[0].ratios.errors: 200 successes in 100 trials"},
	{"no trials", pastJSON(1, 0, 0), "[0].ratios.errors: 0 successes in 0 trials"},
	{"trials beyond any canary", pastJSON(1, 0, 1e15), "[0].ratios.errors: 0 successes in 1e+15 trials"},
	{"a bad time", `[{"id":"c1","ended":"yesterday","ratios":{}}]`, "yesterday"},
	{"nine entries", pastJSON(experiment.PastCap+1, 1, 100), "9 past canaries, at most 8"},
	{"1 MiB", "[" + strings.Repeat(" ", 1<<20) + "]", "1048578 bytes, over the 8192-byte bound"},
}

// pastJSON is n entries with errors counts s of t.
func pastJSON(n int, s, t float64) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf(`{"id":"c%d","ended":"2026-01-01T00:00:00Z","ratios":{"errors":{"s":%g,"t":%g}}}`, i, s, t)
	}
	return "[" + strings.Join(entries, ",") + "]"
}

// TestPastHostile: an annotation that cannot be read is ignored, with an
// error naming it and what is wrong; the Service still reads, its
// experiment keeps stepping, the next write deletes the annotation, and
// the canary's end writes a fresh one. The 1 MiB annotation would not fit
// the budget of this store: it is not counted.
func TestPastHostile(t *testing.T) {
	for _, tc := range hostilePast {
		t.Run(tc.name, func(t *testing.T) {
			r := newPastRun(t, map[string]string{AnnotationPast: tc.raw, "user": "kept"}, WithBudget(32<<10))
			rec := r.get()
			if rec.Past != nil || rec.PastErr == nil || !strings.Contains(rec.PastErr.Error(), AnnotationPast) ||
				!strings.Contains(rec.PastErr.Error(), tc.wantErr) {
				t.Fatalf("past %v, error %v; want none, and an error naming %s and %q", rec.Past, rec.PastErr, AnnotationPast, tc.wantErr)
			}
			r.start("c1", events.KindCanary)
			rec = r.get()
			if _, ok := rec.Service.Annotations[AnnotationPast]; ok || rec.PastErr != nil {
				t.Errorf("after a write: annotation present %v, error %v; want it deleted", ok, rec.PastErr)
			}
			r.window("w", 1)
			r.finish("end", experiment.PhaseCompleted)
			rec = r.get()
			if diff := cmp.Diff([]experiment.Past{past("c1", 1, 1, 1, events.OutcomeRolledBack)}, rec.Past); diff != "" || rec.PastErr != nil {
				t.Errorf("after the canary (%v) (-want +got):\n%s", rec.PastErr, diff)
			}
			if rec.State.Iteration != 1 || rec.Service.Annotations["user"] != "kept" {
				t.Errorf("iteration %d, user annotation %q", rec.State.Iteration, rec.Service.Annotations["user"])
			}
		})
	}
}

// TestPastInTheBudget: the past annotation counts in the annotation
// budget; a state that fits only without it drops it, rather than failing
// the experiment.
func TestPastInTheBudget(t *testing.T) {
	spec, st := newState(2, 2, 8)
	full := make([]experiment.Past, experiment.PastCap)
	for i := range full {
		full[i] = past(fmt.Sprintf("c%d", i), i, 10, 1, events.OutcomePromoted)
	}
	raw, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	svc := func() *servingv1.Service {
		return &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default",
			Annotations: map[string]string{AnnotationPast: string(raw)}}}
	}
	rec := Record{Service: svc(), Spec: &spec, State: &st, Past: full}
	ch := &Change{State: st, Status: "status"}
	next, written, err := New(nil).apply(rec.Service, rec, ch, "")
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	for _, k := range []string{AnnotationExperiment, AnnotationState, AnnotationStatus, AnnotationPast} {
		size += len(next.Annotations[k])
	}
	if next.Annotations[AnnotationPast] != string(raw) || len(written.Past) != experiment.PastCap {
		t.Fatalf("a write changed the past: %d entries", len(written.Past))
	}

	next, written, err = New(nil, WithBudget(size)).apply(svc(), rec, ch, "")
	if err != nil || next.Annotations[AnnotationPast] != string(raw) {
		t.Errorf("at a budget of exactly %d bytes: %v; the past should be kept", size, err)
	}
	next, written, err = New(nil, WithBudget(size-1)).apply(svc(), rec, ch, "")
	if err != nil {
		t.Fatalf("one byte short: %v; the past should be dropped instead", err)
	}
	if _, ok := next.Annotations[AnnotationPast]; ok || written.Past != nil {
		t.Errorf("one byte short: the past was kept (%d entries)", len(written.Past))
	}
	if _, _, err = New(nil, WithBudget(size-len(raw)-1)).apply(svc(), rec, ch, ""); err == nil {
		t.Errorf("without room even for the state, the write went through")
	}
}

// TestPastBound: what remembered writes it can read back: a canary with
// MaxMetrics long-named ratio metrics keeps fewer than PastCap entries,
// within MaxPastBytes, the newest last.
func TestPastBound(t *testing.T) {
	spec := events.ExperimentSpec{Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"}}
	row := make([]stats.Data, events.MaxMetrics)
	for m := range row {
		spec.Metrics = append(spec.Metrics, events.MetricSpec{Name: fmt.Sprintf("%02d", m) + strings.Repeat("m", events.MaxLabelLength-2), Type: events.MetricRatio})
		row[m] = stats.Data{Successes: 1 << 38, Trials: 1 << 39}
	}
	var all []experiment.Past
	for i := range experiment.PastCap + 2 {
		st := experiment.State{ID: fmt.Sprintf("%012d", i), Phase: experiment.PhaseCompleted, Outcome: events.OutcomeRolledBack,
			Since: events.Time{Time: pastT0}, Versions: []string{"v1", "v2"}, Data: [][]stats.Data{row, row}}
		next, text, ok := remembered(all, spec, st)
		if !ok {
			t.Fatalf("canary %d was not remembered", i)
		}
		svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{AnnotationPast: text}}}
		got, err := decodePast(Record{Service: svc})
		if err != nil {
			t.Fatalf("canary %d: what was written cannot be read: %v", i, err)
		}
		if diff := cmp.Diff(next, got); diff != "" || got[len(got)-1].ID != st.ID {
			t.Fatalf("canary %d: (-remembered +read):\n%s", i, diff)
		}
		all = next
	}
	if len(all) >= experiment.PastCap || len(all) < 2 {
		t.Errorf("%d entries of the largest canaries kept; want at least 2 and fewer than %d", len(all), experiment.PastCap)
	}
	if MaxPastBytes > Budget/16 {
		t.Errorf("MaxPastBytes %d is more than a sixteenth of the %d-byte budget", MaxPastBytes, Budget)
	}
	t.Logf("%d entries of the largest canaries fit in %d bytes", len(all), MaxPastBytes)
}

// FuzzPastAnnotation reads a Service whose past annotation is arbitrary
// text, under a running canary, then ends the canary: the read never fails
// and gives a past that validates or none with an error; the canary's end
// is written whatever the text was, and leaves an annotation the store
// reads back with the canary last. Seeds are hostilePast's and a valid
// past.
func FuzzPastAnnotation(f *testing.F) {
	f.Add(pastJSON(3, 1, 100))
	f.Add("null")
	f.Add("[]")
	for _, h := range hostilePast {
		if len(h.raw) <= 4*MaxPastBytes {
			f.Add(h.raw)
		}
	}
	spec := pastSpec(events.KindCanary)
	f.Fuzz(func(t *testing.T, raw string) {
		svc := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default",
			Annotations: map[string]string{AnnotationPast: raw}}}
		cs := fake.NewSimpleClientset(svc)
		s := New(cs.ServingV1())
		ctx := context.Background()
		rec, err := s.Get(ctx, "default", "shop")
		if err != nil {
			t.Fatalf("a past annotation failed the read: %v", err)
		}
		switch {
		case rec.PastErr != nil && rec.Past != nil:
			t.Fatalf("an ignored annotation gave a past: %v", rec.PastErr)
		case rec.PastErr == nil && (experiment.ValidatePast(rec.Past) != nil || len(raw) > MaxPastBytes):
			t.Fatalf("an annotation no canary could write was read: %d bytes", len(raw))
		}
		st := experiment.State{Schema: experiment.SchemaVersion, ID: "fuzz", Phase: experiment.PhaseRunning,
			Versions: spec.Versions(), Data: [][]stats.Data{{{Trials: 10}}, {{Successes: 1, Trials: 10}}}}
		for _, phase := range []experiment.Phase{experiment.PhaseRunning, experiment.PhaseCompleted} {
			st.Phase = phase
			ch := Change{State: st, Status: "x"}
			if phase == experiment.PhaseRunning {
				ch.Spec = &spec
			}
			if _, err := s.Update(ctx, "default", "shop", string(phase), func(Record) (*Change, error) { return &ch, nil }); err != nil {
				t.Fatalf("%s: %v", phase, err)
			}
		}
		if rec, err = s.Get(ctx, "default", "shop"); err != nil || rec.PastErr != nil {
			t.Fatalf("after the canary: %v, %v", err, rec.PastErr)
		}
		if n := len(rec.Past); n == 0 || rec.Past[n-1].ID != "fuzz" {
			t.Fatalf("the canary was not remembered last: %+v", rec.Past)
		}
	})
}
