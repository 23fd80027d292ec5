package collector

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
)

func series(rev, code, le string, v float64) *model.Sample {
	m := model.Metric{"kn_revision_name": model.LabelValue(rev), "http_response_status_code": model.LabelValue(code)}
	if le != "" {
		m[model.BucketLabel] = model.LabelValue(le)
	}
	return &model.Sample{Metric: m, Value: model.SampleValue(v)}
}

func TestIncrements(t *testing.T) {
	tests := []struct {
		name       string
		start, end model.Vector
		want       map[string]float64 // per revision
	}{
		{
			name:  "growth",
			start: model.Vector{series("a", "200", "", 10), series("a", "503", "", 1)},
			end:   model.Vector{series("a", "200", "", 15), series("a", "503", "", 3)},
			want:  map[string]float64{"a": 7},
		},
		{
			name:  "a reset counts from zero",
			start: model.Vector{series("a", "200", "", 10)},
			end:   model.Vector{series("a", "200", "", 4)},
			want:  map[string]float64{"a": 4},
		},
		{
			name:  "a new series counts in full",
			start: model.Vector{series("a", "200", "", 10)},
			end:   model.Vector{series("a", "200", "", 10), series("a", "500", "", 2)},
			want:  map[string]float64{"a": 2},
		},
		{
			name:  "an ended series adds nothing",
			start: model.Vector{series("a", "200", "", 10), series("b", "200", "", 5)},
			end:   model.Vector{series("a", "200", "", 12)},
			want:  map[string]float64{"a": 2},
		},
		{
			name:  "NaN is ignored",
			start: model.Vector{series("a", "200", "", math.NaN())},
			end:   model.Vector{series("a", "200", "", 3), series("b", "200", "", math.NaN())},
			want:  map[string]float64{"a": 3},
		},
		{
			name:  "series without a revision are dropped",
			start: nil,
			end:   model.Vector{series("", "200", "", 3), series("b", "200", "", 1)},
			want:  map[string]float64{"b": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := byRevision(counterReading{start: tt.start, end: tt.end}.increments(), "kn_revision_name")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("increments by revision (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBucketsByRevision(t *testing.T) {
	r := counterReading{
		start: model.Vector{series("a", "200", "0.1", 2), series("a", "200", "+Inf", 3)},
		end: model.Vector{
			series("a", "200", "0.1", 5), series("a", "200", "+Inf", 7),
			series("a", "503", "0.1", 1), series("a", "503", "+Inf", 1),
			series("a", "200", "not-a-number", 9),
		},
	}
	got := bucketsByRevision(r.increments(), "kn_revision_name")
	want := map[string]map[float64]float64{"a": {0.1: 4, math.Inf(1): 5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bucketsByRevision (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"a": true}, revisionsIn(r.end, "kn_revision_name")); diff != "" {
		t.Errorf("revisionsIn (-want +got):\n%s", diff)
	}
}

func TestCount(t *testing.T) {
	for v, want := range map[float64]int64{0: 0, -1: 0, 2.9999999999: 3, 7.0000001: 7, math.NaN(): 0, 1 << 40: 1 << 40} {
		if got := count(v); got != want {
			t.Errorf("count(%v) = %d, want %d", v, got, want)
		}
	}
}

// BenchmarkIncrements differences and groups one reading of a large
// cluster: 2000 revisions' queue-proxy buckets.
func BenchmarkIncrements(b *testing.B) {
	var start, end model.Vector
	for r := range 2000 {
		rev := fmt.Sprintf("rev-%04d", r)
		for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"} {
			start = append(start, series(rev, "200", le, float64(r)))
			end = append(end, series(rev, "200", le, float64(r+10)))
		}
	}
	b.ResetTimer()
	for b.Loop() {
		bucketsByRevision(counterReading{start: start, end: end}.increments(), "kn_revision_name")
	}
}
