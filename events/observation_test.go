package events

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func refOf[T any](v T) *T { return &v }

// errPaths lists the paths of err's field errors, in order.
func errPaths(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	fe := FieldErrorsOf(err)
	if fe == nil {
		t.Fatalf("error %v carries no FieldErrors", err)
	}
	paths := make([]string, len(fe))
	for i, e := range fe {
		paths[i] = e.Path
	}
	return paths
}

func TestObservationValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name  string
		obs   Observation
		typ   string
		want  []string
		inMsg string
	}{
		{name: "ratio", obs: Ratio(3, 10)},
		{name: "ratio empty window", obs: Ratio(0, 0)},
		{name: "ratio declared", obs: Ratio(3, 10), typ: MetricRatio},
		{name: "successes above trials", obs: Ratio(11, 10), want: []string{"successes"}, inMsg: "must be <= trials"},
		{name: "negative successes", obs: Ratio(-1, 10), want: []string{"successes"}, inMsg: ">= 0"},
		{name: "negative trials", obs: Ratio(0, -1), want: []string{"trials"}},
		{name: "count above 2^53", obs: Ratio(0, MaxCount+1), want: []string{"trials"}, inMsg: "2^53"},
		{name: "trials missing", obs: Observation{Successes: refOf[int64](1)}, want: []string{"trials"}, inMsg: "required"},
		{name: "mean", obs: Mean(4, 10, 30)},
		{name: "mean of one value", obs: Mean(1, 5, 25)},
		{name: "mean of equal values, rounded", obs: Mean(3, 0.3, 0.03)},
		{name: "mean empty", obs: Mean(0, 0, 0)},
		{name: "mean empty with sum", obs: Mean(0, 1, 1), want: []string{""}, inMsg: "count is 0"},
		{name: "sum NaN", obs: Mean(2, nan, 1), want: []string{"sum"}, inMsg: "finite"},
		{name: "sum +Inf", obs: Mean(2, inf, 1), want: []string{"sum"}},
		{name: "sumSquares -Inf", obs: Mean(2, 1, math.Inf(-1)), want: []string{"sumSquares"}},
		{name: "sumSquares negative", obs: Mean(2, 1, -1), want: []string{"sumSquares"}, inMsg: ">= 0"},
		{name: "negative variance", obs: Mean(2, 10, 40), want: []string{"sumSquares"}, inMsg: "negative variance"},
		{name: "huge but consistent", obs: Mean(2, 2e150, 2e300)},
		{name: "huge and inconsistent", obs: Mean(2, 2e200, 2e300), want: []string{"sumSquares"}},
		{name: "negative count", obs: Mean(-2, 0, 0), want: []string{"count"}},
		{name: "histogram", obs: Histogram([]float64{-1, 0, 2.5}, []int64{1, 2, 3, 0})},
		{name: "bounds equal", obs: Histogram([]float64{1, 2, 2}, []int64{0, 0, 0, 0}), want: []string{"bounds[2]"}, inMsg: "strictly increasing"},
		{name: "bounds decreasing", obs: Histogram([]float64{3, 2}, []int64{0, 0, 0}), want: []string{"bounds[1]"}},
		{name: "bound NaN", obs: Histogram([]float64{1, nan}, []int64{0, 0, 0}), want: []string{"bounds[1]"}},
		{name: "bound Inf", obs: Histogram([]float64{1, inf}, []int64{0, 0, 0}), want: []string{"bounds[1]"}},
		{name: "counts too short", obs: Histogram([]float64{1, 2}, []int64{0, 0}), want: []string{"counts"}, inMsg: "len(bounds)+1 = 3"},
		{name: "counts too long", obs: Histogram([]float64{1}, []int64{0, 0, 0}), want: []string{"counts"}},
		{name: "negative bucket", obs: Histogram([]float64{1}, []int64{0, -1}), want: []string{"counts[1]"}},
		{name: "no bounds", obs: Histogram([]float64{}, []int64{0}), want: []string{"bounds"}},
		{name: "bounds missing", obs: Observation{Counts: []int64{0}}, want: []string{"bounds"}, inMsg: "required"},
		{name: "too many buckets", obs: Histogram(make([]float64, MaxBuckets+1), make([]int64, MaxBuckets+2)),
			want: append(append([]string{"bounds"}, seqPaths("bounds", 2, MaxBuckets+1)...), "counts")},
		{name: "total above 2^53", obs: Histogram([]float64{1}, []int64{MaxCount, 1}), want: []string{"counts"}, inMsg: "total"},
		{name: "empty", obs: Observation{}, want: []string{""}, inMsg: "empty observation"},
		{name: "mixed ratio and mean", obs: Observation{Successes: refOf[int64](1), Trials: refOf[int64](2), Count: refOf[int64](2)},
			want: []string{""}, inMsg: "ratio (successes, trials) and mean (count)"},
		{name: "mixed mean and quantile", obs: Observation{Sum: refOf(1.0), Bounds: []float64{1}}, want: []string{""}, inMsg: "matches no metric type"},
		{name: "declared ratio given a histogram", obs: Histogram([]float64{1}, []int64{0, 0}), typ: MetricRatio,
			want: []string{"bounds", "counts", "successes", "trials"}, inMsg: "not a field of a ratio metric"},
		{name: "declared mean with extra trials", obs: Observation{Count: refOf[int64](1), Sum: refOf(1.0), SumSquares: refOf(1.0), Trials: refOf[int64](1)},
			typ: MetricMean, want: []string{"trials"}},
		{name: "unknown declared type", obs: Ratio(1, 2), typ: "counter", want: []string{"successes", "trials", ""}, inMsg: "unknown metric type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.obs.Validate(tc.typ)
			if diff := cmp.Diff(tc.want, errPaths(t, err)); diff != "" {
				t.Errorf("paths (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tc.inMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.inMsg)) {
				t.Errorf("error %v does not mention %q", err, tc.inMsg)
			}
		})
	}
}

// seqPaths returns name[from] .. name[to-1]: the all-zero bounds of the
// too-many-buckets case fail "strictly increasing" from the second on.
func seqPaths(name string, from, to int) []string {
	var out []string
	for i := from - 1; i < to; i++ {
		out = append(out, Index(name, i))
	}
	return out
}

func TestObservationType(t *testing.T) {
	for _, tc := range []struct {
		obs  Observation
		want string
	}{
		{Ratio(1, 2), MetricRatio},
		{Observation{Trials: refOf[int64](2)}, MetricRatio},
		{Mean(1, 1, 1), MetricMean},
		{Observation{SumSquares: refOf(1.0)}, MetricMean},
		{Histogram([]float64{1}, []int64{1, 1}), MetricQuantile},
		{Observation{Counts: []int64{1}}, MetricQuantile},
		{Observation{}, ""},
		{Observation{Trials: refOf[int64](2), Counts: []int64{1}}, ""},
	} {
		got, err := tc.obs.Type()
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("Type() of %+v = %q, %v; want %q", tc.obs, got, err, tc.want)
		}
	}
}

func TestHistogramCopies(t *testing.T) {
	b, c := []float64{1, 2}, []int64{1, 2, 3}
	o := Histogram(b, c)
	b[0], c[0] = 99, 99
	if o.Bounds[0] != 1 || o.Counts[0] != 1 {
		t.Errorf("Histogram shares memory with its arguments: %+v", o)
	}
}

func TestWindow(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{name: "five minutes", start: t0, end: t0.Add(5 * time.Minute)},
		{name: "one nanosecond", start: t0, end: t0.Add(1)},
		{name: "empty", start: t0, end: t0, want: []string{"window.end"}},
		{name: "ends before start", start: t0, end: t0.Add(-time.Second), want: []string{"window.end"}},
		{name: "no start", end: t0, want: []string{"window.start"}},
		{name: "no end", start: t0, want: []string{"window.end"}},
		{name: "neither", want: []string{"window"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewWindow(tc.start, tc.end)
			if diff := cmp.Diff(tc.want, errPaths(t, err)); diff != "" {
				t.Errorf("paths (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}
