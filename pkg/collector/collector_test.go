package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/iter8-knative/iter8/events"
)

// fakeQuerier answers the queries it was given answers for, by query and
// evaluation time; any other query gets an empty vector.
type fakeQuerier struct {
	answers map[string]model.Value
	err     error
	asked   []string
}

func key(promql string, at time.Time) string { return fmt.Sprintf("%d %s", at.UnixMilli(), promql) }

func (f *fakeQuerier) Query(_ context.Context, promql string, at time.Time) (model.Value, v1.Warnings, error) {
	f.asked = append(f.asked, key(promql, at))
	if f.err != nil {
		return nil, nil, f.err
	}
	if v, ok := f.answers[key(promql, at)]; ok {
		return v, nil, nil
	}
	return model.Vector{}, nil, nil
}

var (
	from = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	to   = from.Add(90 * time.Second)
)

func sample(labels model.Metric, v float64) *model.Sample {
	return &model.Sample{Metric: labels, Value: model.SampleValue(v)}
}

// pod labels one series of the label-style names.
func pod(rev, name string, extra ...string) model.Metric {
	m := model.Metric{"kn_revision_name": model.LabelValue(rev), "k8s_namespace_name": "shop", "pod": model.LabelValue(name)}
	for i := 0; i+1 < len(extra); i += 2 {
		m[model.LabelName(extra[i])] = model.LabelValue(extra[i+1])
	}
	return m
}

func TestCollectBuiltins(t *testing.T) {
	n := KnativeOTelLabels()
	revs := []string{"v1", "v2"}
	lv := func(metric, extra string) string { return n.lastValues(metric, extra, "shop", revs, DefaultLookback) }
	p1, p2, p2e, q1 := pod("v1", "p1", "code", "200"), pod("v1", "p2", "code", "200"), pod("v1", "p2", "code", "503"), pod("v2", "q1", "code", "200")
	le := func(m model.Metric, le string) model.Metric {
		c := m.Clone()
		c[model.BucketLabel] = model.LabelValue(le)
		return c
	}
	// v1 has two pods: p1 served 30 requests; p2 restarted during the
	// window and then served 8, and 2 that failed (a new series). v2's pod
	// served nothing.
	f := &fakeQuerier{answers: map[string]model.Value{
		key(lv(n.Requests, ""), from):           model.Vector{sample(p1, 100), sample(p2, 50)},
		key(lv(n.Requests, ""), to):             model.Vector{sample(p1, 130), sample(p2, 8), sample(p2e, 2), sample(q1, 0)},
		key(lv(n.Requests, n.ErrorMatcher), to): model.Vector{sample(p2e, 2)},
		key(lv(n.LatencySum, ""), from):         model.Vector{sample(p1, 7), sample(p2, 3)},
		key(lv(n.LatencySum, ""), to):           model.Vector{sample(p1, 7.6), sample(p2, 0.2), sample(p2e, 0.2)},
		key(lv(n.LatencyBucket, ""), from): model.Vector{
			sample(le(p1, "0.025"), 60), sample(le(p1, "0.1"), 100), sample(le(p1, "+Inf"), 100),
			sample(le(p2, "0.025"), 50), sample(le(p2, "0.1"), 50), sample(le(p2, "+Inf"), 50),
		},
		key(lv(n.LatencyBucket, ""), to): model.Vector{
			sample(le(p1, "0.025"), 80), sample(le(p1, "0.1"), 130), sample(le(p1, "+Inf"), 130),
			sample(le(p2, "0.025"), 8), sample(le(p2, "0.1"), 8), sample(le(p2, "+Inf"), 8),
			sample(le(p2e, "0.025"), 0), sample(le(p2e, "0.1"), 2), sample(le(p2e, "+Inf"), 2),
			sample(le(q1, "0.1"), 0), sample(le(q1, "+Inf"), 0),
		},
		// The custom query, rendered for v1, at the window's end.
		key(`revenue{rev="v1",window="90s"}`, to): model.Vector{sample(model.Metric{}, 12.5)},
	}}
	c, err := New("", WithQuerier(f), WithNames(n))
	if err != nil {
		t.Fatal(err)
	}
	spec := events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio, OnMissing: events.OnMissingFail},
			{Name: "latency", Type: events.MetricMean, Unit: "ms"},
			{Name: "latency-p90", Type: events.MetricQuantile, Quantile: 0.9, Unit: "ms", Buckets: []float64{100}},
			{Name: "revenue", Type: events.MetricMean, Query: `revenue{rev="{{.Revision}}",window="{{.Window}}"}`},
			{Name: "conversion", Type: events.MetricRatio},
		},
	}
	got, missing, err := c.Collect(context.Background(), "shop", "checkout", spec, revs, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := events.NewMetricsObserved(from, to)
	want.Set("v1", "errors", events.Ratio(2, 40))
	// The sum grew by 0.6 + 0.2 + 0.2 s; of the 40 values, 20 + 8 are in
	// (0, 25] ms and 10 + 2 in (25, 100] ms.
	want.Set("v1", "latency", events.Mean(40, 1000, sumSquares([]float64{25, 100}, []int64{28, 12, 0}, 40, 1000)))
	want.Set("v1", "latency-p90", events.Histogram([]float64{100}, []int64{40, 0}))
	want.Set("v1", "revenue", events.Mean(1, 12.5, 156.25))
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("Collect (-want +got):\n%s", diff)
	}
	wantMissing := Missing{
		{Version: "v2", Metric: "errors", Fail: true, Reason: "no requests in the window"},
		{Version: "v2", Metric: "latency", Reason: "no requests in the window"},
		{Version: "v2", Metric: "latency-p90", Reason: "no values in the window"},
		{Version: "v2", Metric: "revenue", Reason: "the query returned no series"},
	}
	if diff := cmp.Diff(wantMissing, missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	var me *MissingError
	if err := missing.Err(); !errors.As(err, &me) || !events.IsPermanent(err) || len(me.Gaps) != 1 {
		t.Errorf("missing.Err() = %v, want a permanent MissingError with the one failing gap", err)
	}
}

// Only the counters the spec's metrics need are read.
func TestCollectReadsOnlyWhatIsNeeded(t *testing.T) {
	tests := []struct {
		name    string
		metrics []events.MetricSpec
		want    int // queries
	}{
		{"errors: all and failed requests at both ends", []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}}, 4},
		{"quantile: buckets", []events.MetricSpec{{Name: "latency", Type: events.MetricQuantile, Quantile: 0.5}}, 2},
		{"mean: count, sum and buckets", []events.MetricSpec{{Name: "latency", Type: events.MetricMean}}, 6},
		{"errors and mean share the request count", []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}, {Name: "latency", Type: events.MetricMean}}, 8},
		{"custom: one per version", []events.MetricSpec{{Name: "x", Type: events.MetricMean, Query: "x"}}, 2},
		{"no source", []events.MetricSpec{{Name: "conversion", Type: events.MetricRatio}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeQuerier{}
			c, err := New("", WithQuerier(f))
			if err != nil {
				t.Fatal(err)
			}
			spec := events.ExperimentSpec{Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"}, Metrics: tt.metrics}
			if _, _, err := c.Collect(context.Background(), "shop", "checkout", spec, []string{"v1", "v2"}, from, to); err != nil {
				t.Fatal(err)
			}
			if len(f.asked) != tt.want {
				t.Errorf("%d queries, want %d:\n%s", len(f.asked), tt.want, strings.Join(f.asked, "\n"))
			}
		})
	}
}

func TestCollectErrors(t *testing.T) {
	errorsOnly := events.ExperimentSpec{Metrics: []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}}}
	tests := []struct {
		name       string
		queryErr   error
		spec       events.ExperimentSpec
		ns         string
		versions   []string
		from, to   time.Time
		wantStatus int
		permanent  bool
	}{
		{name: "unreachable", queryErr: fmt.Errorf("dial: %w", syscall.ECONNREFUSED), wantStatus: 503},
		{name: "server error", queryErr: &v1.Error{Type: v1.ErrServer, Msg: "server error: 500"}, wantStatus: 503},
		{name: "timeout", queryErr: context.DeadlineExceeded, wantStatus: 503},
		{name: "bad query", queryErr: &v1.Error{Type: v1.ErrBadData, Msg: "parse error"}, wantStatus: 422, permanent: true},
		{name: "bad namespace", ns: "Shop", wantStatus: 400, permanent: true},
		{name: "empty window", to: from, wantStatus: 400, permanent: true},
		{name: "no versions", versions: []string{}, wantStatus: 400, permanent: true},
		{name: "bad version", versions: []string{"v1|.*"}, wantStatus: 400, permanent: true},
		{
			name:       "template error",
			spec:       events.ExperimentSpec{Metrics: []events.MetricSpec{{Name: "x", Type: events.MetricMean, Query: "{{.Nope}}"}}},
			wantStatus: 422, permanent: true,
		},
		{
			name:       "latency in an unknown unit",
			spec:       events.ExperimentSpec{Metrics: []events.MetricSpec{{Name: "latency", Type: events.MetricMean, Unit: "minutes"}}},
			wantStatus: 422, permanent: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQuerier{err: tt.queryErr}
			if tt.queryErr == nil {
				// Give the latency data so that the unit is the only problem.
				n := KnativeOTel()
				q.answers = map[string]model.Value{key(n.lastValues(n.LatencyCount, "", "shop", []string{"v1"}, DefaultLookback), to): model.Vector{sample(pod("v1", "p"), 1)}}
			}
			c, err := New("", WithQuerier(q))
			if err != nil {
				t.Fatal(err)
			}
			spec, ns, versions, f, tto := tt.spec, tt.ns, tt.versions, tt.from, tt.to
			if spec.Metrics == nil {
				spec = errorsOnly
			}
			if ns == "" {
				ns = "shop"
			}
			if versions == nil {
				versions = []string{"v1"}
			}
			if f.IsZero() {
				f = from
			}
			if tto.IsZero() {
				tto = to
			}
			_, _, err = c.Collect(context.Background(), ns, "checkout", spec, versions, f, tto)
			if err == nil {
				t.Fatal("Collect succeeded, want an error")
			}
			if events.StatusOf(err) != tt.wantStatus || events.IsPermanent(err) != tt.permanent {
				t.Errorf("Collect error %v: status %d permanent %v, want %d %v", err, events.StatusOf(err), events.IsPermanent(err), tt.wantStatus, tt.permanent)
			}
		})
	}
}

func TestSourceOf(t *testing.T) {
	tests := []struct {
		m    events.MetricSpec
		want string
	}{
		{events.MetricSpec{Name: "errors", Type: events.MetricRatio}, SourceErrors},
		{events.MetricSpec{Name: "errors", Type: events.MetricMean}, ""},
		{events.MetricSpec{Name: "latency", Type: events.MetricMean}, SourceLatency},
		{events.MetricSpec{Name: "latency-p99", Type: events.MetricQuantile}, SourceLatency},
		{events.MetricSpec{Name: "latency", Type: events.MetricRatio}, ""},
		{events.MetricSpec{Name: "latencyish", Type: events.MetricMean}, ""},
		{events.MetricSpec{Name: "errors", Type: events.MetricRatio, Query: "x"}, SourceQuery},
		{events.MetricSpec{Name: "conversion", Type: events.MetricRatio}, ""},
	}
	for _, tt := range tests {
		if got := SourceOf(tt.m); got != tt.want {
			t.Errorf("SourceOf(%s %s, query %q) = %q, want %q", tt.m.Name, tt.m.Type, tt.m.Query, got, tt.want)
		}
	}
}

func TestWindows(t *testing.T) {
	spec := events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics: []events.MetricSpec{{Name: "x", Type: events.MetricMean, Query: `x{r="{{.Revision}}"}`}},
	}
	x := func(since time.Time) Experiment {
		return Experiment{Namespace: "shop", Service: "checkout", Spec: spec, Versions: []string{"v1", "v2"}, Since: since}
	}
	const delay = 10 * time.Second
	// Which experiments take data, and where their windows start, is the
	// caller's (functions.collection): the collector starts at Since.
	tests := []struct {
		name     string
		x        Experiment
		now      time.Time
		wantFrom time.Time // zero: no window
	}{
		{"after the last window", x(from), to.Add(delay), from},
		{"an empty window", x(from), from.Add(delay), time.Time{}},
		{"no start", x(time.Time{}), to.Add(delay), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeQuerier{answers: map[string]model.Value{key(`x{r="v1"}`, to): model.Vector{sample(model.Metric{}, 2)}}}
			c, err := New("", WithQuerier(f), WithDelay(delay))
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Windows(context.Background(), tt.x, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantFrom.IsZero() {
				if len(got) != 0 {
					t.Errorf("Windows = %+v, want none", got)
				}
				return
			}
			want := events.NewMetricsObserved(tt.wantFrom, to)
			want.Set("v1", "x", events.Mean(1, 2, 4))
			e, err := Event("shop", "checkout", want)
			if err != nil {
				t.Fatal(err)
			}
			wantWindows := []Window{{Data: want,
				Missing: Missing{{Version: "v2", Metric: "x", Reason: "the query returned no series"}}}}
			if diff := cmp.Diff(wantWindows, got); diff != "" {
				t.Errorf("Windows (-want +got):\n%s", diff)
			}
			if e.ID() != events.WindowID("shop/checkout", Source, want.Window) || !e.Time().Equal(to) {
				t.Errorf("Event id %q time %s, want the window id and end", e.ID(), e.Time())
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantEnabled bool
		wantErr     string
		wantNames   Names
	}{
		{name: "disabled", env: map[string]string{}, wantEnabled: false},
		{name: "empty url", env: map[string]string{EnvURL: " "}, wantEnabled: false},
		{name: "defaults", env: map[string]string{EnvURL: "http://prometheus:9090"}, wantEnabled: true, wantNames: KnativeOTel()},
		{name: "preset", env: map[string]string{EnvURL: "http://p:9090", EnvPreset: "knative-opencensus", EnvDelay: "5s", EnvLookback: "30m"}, wantEnabled: true, wantNames: KnativeOpenCensus()},
		{name: "unknown preset", env: map[string]string{EnvURL: "http://p:9090", EnvPreset: "istio"}, wantErr: "knative-opencensus, knative-otel, knative-otel-labels"},
		{name: "bad duration", env: map[string]string{EnvURL: "http://p:9090", EnvDelay: "soon"}, wantErr: EnvDelay},
		{name: "bad url", env: map[string]string{EnvURL: "http://[::1"}, wantErr: "Prometheus at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			c, enabled, err := FromEnv(lookup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FromEnv error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if enabled != tt.wantEnabled || (c != nil) != enabled {
				t.Fatalf("FromEnv = %v, %v; want enabled %v", c, enabled, tt.wantEnabled)
			}
			if enabled {
				if diff := cmp.Diff(tt.wantNames, c.Names()); diff != "" {
					t.Errorf("names (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestMissingError(t *testing.T) {
	m := Missing{{Version: "v2", Metric: "errors", Fail: true, Reason: "no requests in the window"}, {Version: "v2", Metric: "latency", Reason: "no requests in the window"}}
	err := m.Err()
	if err == nil || events.StatusOf(err) != http.StatusUnprocessableEntity || !events.IsPermanent(err) {
		t.Fatalf("Err() = %v, want a permanent 422", err)
	}
	if want := "no data for metrics with onMissing fail: errors of v2: no requests in the window"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if err := m[1:].Err(); err != nil {
		t.Errorf("Err() without failing gaps = %v, want nil", err)
	}
}
