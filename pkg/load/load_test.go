package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
)

func ptr[T any](v T) *T { return &v }

func spec(l events.LoadSpec) events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindPerformance, Baseline: "shop-v1",
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio},
			{Name: "latency", Type: events.MetricMean, Unit: "ms"},
			{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms", Buckets: []float64{10, 20, 1000}},
			{Name: "conversion", Type: events.MetricRatio},
		},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: ptr(0.01)}},
		Load:       &l,
	}
}

func TestURL(t *testing.T) {
	tag := "http://v1-shop.ns.svc.cluster.local"
	tests := []struct {
		target, tag, want, err string
	}{
		{"/", tag, tag + "/", ""},
		{"/api/cart?items=3", tag, tag + "/api/cart?items=3", ""},
		{"http://V1-shop.ns.svc.cluster.local/x", tag, "http://V1-shop.ns.svc.cluster.local/x", ""},
		{"http://other.ns.svc.cluster.local/x", tag, "", "not on the version's tag host"},
		{"http://v1-shop.ns.svc.cluster.local:81/x", tag, "", "not on the version's tag host"},
		{"//other.example.com/x", tag, "", "not on the version's tag host"},
		{"http://me@v1-shop.ns.svc.cluster.local/", tag, "", "refused"},
		{"api", tag, "", "neither a path"},
		{"/", "v1-shop", "", "not an http(s) URL"},
	}
	for _, tc := range tests {
		got, err := URL(tc.target, tc.tag)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("URL(%q, %q) error = %v, want one containing %q", tc.target, tc.tag, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("URL(%q, %q) = %q, %v; want %q", tc.target, tc.tag, got, err, tc.want)
		}
	}
}

func TestPlanCeiling(t *testing.T) {
	g, err := New(WithMaxRate(100), WithMaxBurst(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	tests := []struct {
		name     string
		load     events.LoadSpec
		deadline time.Duration // 0: none
		want     plan
	}{
		{"defaults", events.LoadSpec{}, 0,
			plan{rate: 10, concurrency: 32, length: 6666666667, timeout: 3333333333, capped: []string{"burst of 10s (warm-up 0s) cut to 6.666666667s to fit the ceiling and deadline"}}},
		{"rate capped", events.LoadSpec{Rate: 500, Duration: &events.Duration{Duration: 2 * time.Second}}, 0,
			plan{rate: 100, concurrency: 32, length: 2 * time.Second, timeout: 3333333333, capped: []string{"rate 500 capped at 100 requests/s"}}},
		{"requests", events.LoadSpec{Rate: 50, Requests: 100}, 0,
			plan{rate: 50, concurrency: 32, requests: 100, timeout: 3333333333}},
		{"deadline", events.LoadSpec{Rate: 50, Duration: &events.Duration{Duration: 5 * time.Second}}, 11 * time.Second,
			plan{rate: 50, concurrency: 32, length: 4 * time.Second, timeout: 2 * time.Second, capped: []string{"burst of 5s (warm-up 0s) cut to 4s to fit the ceiling and deadline"}}},
		{"warm-up", events.LoadSpec{Rate: 50, Duration: &events.Duration{Duration: time.Second}, WarmUp: &events.Duration{Duration: time.Second}}, 0,
			plan{rate: 50, concurrency: 32, length: time.Second, warmUp: time.Second, timeout: 3333333333}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tc.deadline))
				defer cancel()
			}
			p, err := g.planFor(ctx, Target{Namespace: "ns", Service: "shop", Spec: spec(tc.load), Version: "shop-v1", TagURL: "http://v1-shop.ns", First: true})
			if err != nil {
				t.Fatal(err)
			}
			p.url, p.method, p.header, p.body = "", "", nil, nil
			if diff := cmp.Diff(tc.want, p, cmp.AllowUnexported(plan{})); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		rate float64
		dur  time.Duration
		err  string
	}{
		{nil, DefaultMaxRate, DefaultMaxBurst, ""},
		{map[string]string{EnvMaxRate: "250", EnvMaxBurst: "5s"}, 250, 5 * time.Second, ""},
		{map[string]string{EnvMaxRate: "0"}, 0, 0, EnvMaxRate},
		{map[string]string{EnvMaxBurst: "ten"}, 0, 0, EnvMaxBurst},
	}
	for _, tc := range tests {
		opts, err := FromEnv(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("FromEnv(%v) error = %v, want one naming %s", tc.env, err, tc.err)
			}
			continue
		}
		g, err := New(opts...)
		if err != nil || g.maxRate != tc.rate || g.maxBurst != tc.dur {
			t.Errorf("FromEnv(%v): max rate %v, burst %s, %v; want %v, %s", tc.env, g.maxRate, g.maxBurst, err, tc.rate, tc.dur)
		}
	}
}

// server answers after delay, every fourth request with 500, and counts
// what it saw.
func server(t *testing.T, delay time.Duration) (*httptest.Server, *atomic.Int64, *atomic.Value) {
	var n atomic.Int64
	var seen atomic.Value
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		seen.Store(r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("X-Test"))
		time.Sleep(delay)
		if i%4 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(s.Close)
	return s, &n, &seen
}

func TestRunMeasures(t *testing.T) {
	s, n, seen := server(t, 25*time.Millisecond)
	g, err := New(WithTransport(func(int) http.RoundTripper { return &http.Transport{} }))
	if err != nil {
		t.Fatal(err)
	}
	l := events.LoadSpec{Target: "/api?x=1", Rate: 200, Requests: 40, Concurrency: 40, Method: "POST", Headers: map[string]string{"X-Test": "yes"}, Body: "{}",
		WarmUp: &events.Duration{Duration: 50 * time.Millisecond}}
	b, err := g.Run(context.Background(), Target{Namespace: "ns", Service: "shop", Spec: spec(l), Version: "shop-v1", TagURL: s.URL, First: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Stats.Sent != 40 || b.Stats.WarmUp+b.Stats.Sent != n.Load() {
		t.Errorf("sent %d + warm-up %d, server saw %d; want 40 counted", b.Stats.Sent, b.Stats.WarmUp, n.Load())
	}
	if got := seen.Load(); got != "POST /api?x=1 yes" {
		t.Errorf("server saw %q", got)
	}
	// The server fails every fourth request it sees, warm-up included.
	if b.Stats.Errors < 9 || b.Stats.Errors > 11 {
		t.Errorf("errors = %d, want about 10", b.Stats.Errors)
	}
	v := b.Data.Versions["shop-v1"]
	if diff := cmp.Diff(events.Ratio(b.Stats.Errors, 40), v["errors"]); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	h := v["latency-p95"]
	if diff := cmp.Diff([]float64{10, 20, 1000}, h.Bounds); diff != "" {
		t.Errorf("bounds (-want +got):\n%s", diff)
	}
	// Every answer took at least 25 ms: none can be at or below 20 ms.
	if len(h.Counts) != 4 || h.Counts[0]+h.Counts[1] != 0 || h.Counts[2]+h.Counts[3] != 40 {
		t.Errorf("counts = %v, want all 40 above 20 ms", h.Counts)
	}
	if m := v["latency"]; *m.Count != 40 || *m.Sum < 40*25 {
		t.Errorf("latency mean: count %d sum %v ms, want 40 and at least 1000", *m.Count, *m.Sum)
	}
	if _, ok := v["conversion"]; ok {
		t.Error("the generator observed a metric it does not measure")
	}
}

func TestRunRefusesOtherHosts(t *testing.T) {
	s, n, _ := server(t, 0)
	g, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Run(context.Background(), Target{Namespace: "ns", Service: "shop", Version: "shop-v1", TagURL: "http://v1-shop.ns.example.com",
		Spec: spec(events.LoadSpec{Target: s.URL + "/"})})
	if err == nil || !events.IsPermanent(err) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Run to another host: %v, want a permanent refusal", err)
	}
	if n.Load() != 0 {
		t.Errorf("the other host got %d requests", n.Load())
	}
}

func TestRunNoRedirects(t *testing.T) {
	var other atomic.Int64
	o := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { other.Add(1) }))
	defer o.Close()
	s := httptest.NewServer(http.RedirectHandler(o.URL, http.StatusFound))
	defer s.Close()
	g, err := New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Run(context.Background(), Target{Namespace: "ns", Service: "shop", Version: "shop-v1", TagURL: s.URL,
		Spec: spec(events.LoadSpec{Rate: 100, Requests: 5})})
	if err != nil {
		t.Fatal(err)
	}
	if other.Load() != 0 || b.Stats.Sent != 5 || b.Stats.Errors != 0 {
		t.Errorf("redirect followed %d times; sent %d, errors %d", other.Load(), b.Stats.Sent, b.Stats.Errors)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	s, _, _ := server(t, 0)
	g, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = g.Run(ctx, Target{Namespace: "ns", Service: "shop", Version: "shop-v1", TagURL: s.URL,
		Spec: spec(events.LoadSpec{Rate: 10, Duration: &events.Duration{Duration: time.Minute}})})
	if err == nil || events.IsPermanent(err) {
		t.Errorf("Run with an ended context: %v, want a transient error", err)
	}
}

func TestStatsAchieved(t *testing.T) {
	tests := []struct {
		s      Stats
		want   float64
		keptUp bool
	}{
		{Stats{Requested: 100, Sent: 1000, Span: 10 * time.Second}, 100, true},
		{Stats{Requested: 100, Sent: 900, Span: 10 * time.Second}, 90, false},
		{Stats{Requested: 100}, 0, false},
	}
	for _, tc := range tests {
		if got := tc.s.Achieved(); got != tc.want || tc.s.KeptUp() != tc.keptUp {
			t.Errorf("%+v: achieved %v, kept up %v; want %v, %v", tc.s, got, tc.s.KeptUp(), tc.want, tc.keptUp)
		}
	}
}

// TestRunSaysWhenItFallsBehind loads a server that answers after 50 ms
// with one request in flight at most: at most 20 requests/s can be sent,
// however fast the machine, so a burst asking 100 must report that it
// fell behind.
func TestRunSaysWhenItFallsBehind(t *testing.T) {
	s, _, _ := server(t, 50*time.Millisecond)
	g, err := New()
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Run(context.Background(), Target{Namespace: "ns", Service: "shop", Version: "shop-v1", TagURL: s.URL,
		Spec: spec(events.LoadSpec{Rate: 100, Concurrency: 1, Duration: &events.Duration{Duration: time.Second}})})
	if err != nil {
		t.Fatal(err)
	}
	if b.Stats.KeptUp() || b.Stats.Achieved() > 25 {
		t.Errorf("achieved %.1f of 100 requests/s with one request in flight, kept up %v; want it behind", b.Stats.Achieved(), b.Stats.KeptUp())
	}
}
