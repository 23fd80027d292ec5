package report

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/present"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ref[T any](v T) *T { return &v }

func canarySpec() events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics: []events.MetricSpec{
			{Name: "errors", Type: events.MetricRatio},
			{Name: "latency", Type: events.MetricMean, Unit: "ms"},
			{Name: "latency-p95", Type: events.MetricQuantile, Quantile: 0.95, Unit: "ms"},
		},
		Objectives: []events.Objective{
			{Metric: "errors", UpperLimit: ref(0.05)},
			{Metric: "latency", UpperLimitRelative: ref(1.2)},
			{Metric: "latency-p95", UpperLimit: ref(400.0)},
		},
		Limits: events.Limits{MinSamples: 5000},
	}
}

func perfSpec() events.ExperimentSpec {
	return events.ExperimentSpec{
		Kind: events.KindPerformance, Baseline: "v1",
		Metrics:    []events.MetricSpec{{Name: "errors", Type: events.MetricRatio}},
		Objectives: []events.Objective{{Metric: "errors", UpperLimit: ref(0.05)}},
		Limits:     events.Limits{MinSamples: 5000},
	}
}

// observation is one window of every metric: n requests with fixed
// error rate and latency shape per version, so that the engine has real
// data to assess.
func observation(spec events.ExperimentSpec, st experiment.State, k int) events.MetricsObserved {
	obs := events.MetricsObserved{
		Window: events.Window{Start: events.Time{Time: t0.Add(time.Duration(k) * time.Minute)},
			End: events.Time{Time: t0.Add(time.Duration(k+1) * time.Minute)}},
		Versions: map[string]map[string]events.Observation{},
	}
	for i, v := range st.Versions {
		n := int64(200 + 50*i)
		mean := 100.0 + 5*float64(i) + float64(k%3)
		m := map[string]events.Observation{}
		for _, ms := range spec.Metrics {
			switch ms.Type {
			case events.MetricRatio:
				m[ms.Name] = events.Observation{Successes: ref(int64(2 + i + k%2)), Trials: ref(n)}
			case events.MetricMean:
				m[ms.Name] = events.Observation{Count: ref(n), Sum: ref(mean * float64(n)), SumSquares: ref(float64(n) * (mean*mean + 400))}
			case events.MetricQuantile:
				m[ms.Name] = events.Observation{Bounds: []float64{50, 100, 200, 400}, Counts: []int64{n / 10, n / 2, n/4 + int64(i), n / 8, n / 40}}
			}
		}
		obs.Versions[v] = m
	}
	return obs
}

// played runs spec through the engine for windows windows and returns the
// report's input, with the assessment the last window produced.
func played(t *testing.T, spec events.ExperimentSpec, windows int) present.Input {
	t.Helper()
	spec = spec.Defaulted()
	st, res, err := experiment.New().Start(spec, "e-1", t0.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	in := present.Input{Namespace: "default", Service: "shop", Spec: spec, Traffic: res.Traffic}
	for k := range windows {
		now := t0.Add(time.Duration(k+1)*time.Minute + time.Second)
		st, res, err = experiment.New().Observe(spec, st, observation(spec, st, k), now)
		if err != nil {
			t.Fatalf("window %d: %v", k, err)
		}
		for _, o := range res.Emit {
			if a, ok := o.Data.(events.Assessed); ok {
				in.Assessment = &a
			}
		}
		if res.Traffic != nil {
			in.Traffic = res.Traffic
		}
	}
	in.State = st
	return in
}

var (
	svgOpen   = regexp.MustCompile(`<svg class="plot" role="img" aria-label="([^"]*)"`)
	external  = regexp.MustCompile(`(?i)<script|<link|<img|src=|url\(|@import|href="http`)
	xmlProlog = "<?xml"
)

// TestRenderHasAnSVGPerPlot checks that every plot is inline SVG, and
// that the page loads nothing from elsewhere.
func TestRenderHasAnSVGPerPlot(t *testing.T) {
	tests := []struct {
		name    string
		spec    events.ExperimentSpec
		windows int
		want    []string // aria-labels, in page order
		says    []string
	}{
		{
			name: "canary with every metric type", spec: canarySpec(), windows: 4,
			want: []string{"Posterior of errors", "Posterior of latency", "Posterior of latency-p95",
				"Traffic over time", "Probability of meeting the objectives over time"},
			says: []string{"Beta posteriors rebuilt", "Student-t posteriors", "split normal", "≤ 1.2× baseline"},
		},
		{
			name: "performance moves no traffic", spec: perfSpec(), windows: 3,
			want: []string{"Posterior of errors", "Probability of meeting the objectives over time"},
			says: []string{"Performance experiments do not move traffic."},
		},
		{
			name: "just started", spec: canarySpec(), windows: 0,
			want: []string{"Traffic over time"},
			says: []string{"No version has data on this metric yet.", "No assessment recorded yet."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := played(t, tt.spec, tt.windows)
			page, err := Render(in, t0.Add(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			s := string(page)
			var got []string
			for _, m := range svgOpen.FindAllStringSubmatch(s, -1) {
				got = append(got, m[1])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plots (-want +got):\n%s", diff)
			}
			if n := strings.Count(s, "<svg"); n != len(tt.want) {
				t.Errorf("%d <svg> elements, want %d", n, len(tt.want))
			}
			if n := strings.Count(s, "</svg>"); n != len(tt.want) {
				t.Errorf("%d </svg>, want %d", n, len(tt.want))
			}
			if strings.Contains(s, xmlProlog) {
				t.Error("an XML prologue was left inside the HTML")
			}
			if m := external.FindString(s); m != "" {
				t.Errorf("the page refers to something outside itself: %q", m)
			}
			for _, want := range tt.says {
				if !strings.Contains(s, want) {
					t.Errorf("page does not say %q", want)
				}
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	in := played(t, canarySpec(), 3)
	a, err := Render(in, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Render(in, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same input rendered two different pages")
	}
}

// TestRebuiltPosteriorsMatchTheEngine checks that the curves drawn are the
// engine's posteriors: each one's equal-tailed interval at the
// experiment's confidence is the interval the assessment reports.
func TestRebuiltPosteriorsMatchTheEngine(t *testing.T) {
	spec := canarySpec().Defaulted()
	in := played(t, spec, 3)
	for i, v := range in.State.Versions {
		for j, m := range spec.Metrics {
			ma := metricAssessment(in.Assessment, v, m.Name)
			if ma == nil {
				t.Fatalf("%s %s: no assessment", v, m.Name)
			}
			d, ok := posteriorOf(m, in.State.Data[i][j], ma, spec.Confidence)
			if !ok {
				t.Fatalf("%s %s: no posterior", v, m.Name)
			}
			alpha := (1 - spec.Confidence) / 2
			lo, hi := quantileOf(d, alpha), quantileOf(d, 1-alpha)
			// Quantile metrics come from the engine's Monte Carlo; the
			// split normal matches its interval by construction.
			mlo, mhi := *ma.Lower, *ma.Upper
			tol := 0.002 * (mhi - mlo)
			if math.Abs(lo-mlo) > tol || math.Abs(hi-mhi) > tol {
				t.Errorf("%s %s: drawn interval [%g, %g], assessed [%g, %g]", v, m.Name, lo, hi, mlo, mhi)
			}
			if mass := integrate(d, d.lo, d.hi); math.Abs(mass-(1-2*tail)) > 2e-3 {
				t.Errorf("%s %s: mass in the drawn range %g, want %g", v, m.Name, mass, 1-2*tail)
			}
		}
	}
}

// quantileOf inverts the density's CDF numerically, independently of the
// closed forms the code uses.
func quantileOf(d density, p float64) float64 {
	span := d.hi - d.lo
	lo, hi := d.lo-span, d.hi+span
	const n = 200000
	h := (hi - lo) / n
	acc := 0.0
	prev := d.pdf(lo)
	for k := 1; k <= n; k++ {
		x := lo + float64(k)*h
		y := d.pdf(x)
		step := (prev + y) / 2 * h
		if acc+step >= p {
			return x - h + h*(p-acc)/step
		}
		acc += step
		prev = y
	}
	return hi
}

func integrate(d density, a, b float64) float64 {
	const n = 20000
	h := (b - a) / n
	sum := (d.pdf(a) + d.pdf(b)) / 2
	for k := 1; k < n; k++ {
		sum += d.pdf(a + float64(k)*h)
	}
	return sum * h
}

func TestSplitNormalRefusesUnusableIntervals(t *testing.T) {
	tests := []struct {
		name               string
		mean, lower, upper float64
		ok                 bool
	}{
		{"straddles", 10, 8, 13, true},
		{"no data (all zero)", 0, 0, 0, false},
		{"upper beyond the histogram, written as 0", 300, 250, 0, false},
		{"lower above the mean", 10, 11, 13, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := splitNormalDensity(tt.mean, tt.lower, tt.upper, 0.95)
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

func TestTimeTicksAreRoundTimes(t *testing.T) {
	tests := []struct {
		name   string
		span   time.Duration
		step   int64
		format string
	}{
		{"twenty minutes", 20 * time.Minute, 300, "15:04"},
		{"three hours", 3 * time.Hour, 1800, "15:04"},
		{"three days", 72 * time.Hour, 12 * 3600, "Jan 2 15:04"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := t0.Add(17 * time.Second).Unix()
			to := from + int64(tt.span/time.Second)
			ticks := timeTicks{format: tt.format}.Ticks(float64(from), float64(to))
			labelled := 0
			for _, tk := range ticks {
				if tk.Label == "" {
					continue
				}
				labelled++
				if int64(tk.Value)%tt.step != 0 {
					t.Errorf("tick %s at %v is not a multiple of %ds", tk.Label, tk.Value, tt.step)
				}
				if tk.Value < float64(from) || tk.Value > float64(to) {
					t.Errorf("tick %s outside [%d, %d]", tk.Label, from, to)
				}
			}
			if labelled < 3 || labelled > 8 {
				t.Errorf("%d labelled ticks, want 3 to 8", labelled)
			}
		})
	}
}

// TestSplitScalesHitBothTails checks the split normal puts exactly alpha
// beyond each end of the interval, however lopsided the interval is.
func TestSplitScalesHitBothTails(t *testing.T) {
	tests := []struct{ a, b, alpha float64 }{
		{1, 1, 0.025}, {1, 3, 0.025}, {3, 1, 0.025}, {1, 20, 0.025}, {20, 1, 0.005}, {2, 5, 0.1},
	}
	for _, tt := range tests {
		sl, sr := splitScales(tt.a, tt.b, tt.alpha)
		left := 2 * sl / (sl + sr) * normalCDF(-tt.a/sl)
		right := 2 * sr / (sl + sr) * normalCDF(-tt.b/sr)
		if math.Abs(left-tt.alpha) > 1e-9 || math.Abs(right-tt.alpha) > 1e-9 {
			t.Errorf("a=%g b=%g: tails %g and %g, want %g each", tt.a, tt.b, left, right, tt.alpha)
		}
	}
}

func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
