package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	v3 := []string{"a", "b", "c"}
	tests := []struct {
		name string
		w    map[string]float64
		b    Bounds
		want map[string]int
	}{
		{"proportional", map[string]float64{"a": 1, "b": 1, "c": 2}, Bounds{Versions: v3},
			map[string]int{"a": 25, "b": 25, "c": 50}},
		{"thirds: remainder to the earliest", map[string]float64{"a": 1, "b": 1, "c": 1}, Bounds{Versions: v3},
			map[string]int{"a": 34, "b": 33, "c": 33}},
		{"largest remainder wins over order", map[string]float64{"a": 0.333, "b": 0.332, "c": 0.335}, Bounds{Versions: v3},
			map[string]int{"a": 33, "b": 33, "c": 34}},
		{"no weights: equal", map[string]float64{}, Bounds{Versions: v3},
			map[string]int{"a": 34, "b": 33, "c": 33}},
		{"bad weights count as zero", map[string]float64{"a": math.NaN(), "b": -1, "c": math.Inf(1)}, Bounds{Versions: v3},
			map[string]int{"a": 34, "b": 33, "c": 33}},
		{"unknown versions ignored", map[string]float64{"a": 1, "zz": 100}, Bounds{Versions: []string{"a", "b"}},
			map[string]int{"a": 100, "b": 0}},
		{"floor", map[string]float64{"a": 1}, Bounds{Versions: v3, Floor: 5},
			map[string]int{"a": 90, "b": 5, "c": 5}},
		{"floor lowered to share", map[string]float64{"a": 1}, Bounds{Versions: v3, Floor: 40},
			map[string]int{"a": 34, "b": 33, "c": 33}},
		{"candidate cap", map[string]float64{"c": 1}, Bounds{Versions: v3, MaxCandidate: 30},
			map[string]int{"a": 40, "b": 30, "c": 30}},
		{"cap spreads the excess evenly", map[string]float64{"a": 10, "b": 10, "c": 80}, Bounds{Versions: v3, MaxCandidate: 50},
			map[string]int{"a": 25, "b": 25, "c": 50}},
		{"increment", map[string]float64{"c": 1},
			Bounds{Versions: v3, Current: map[string]int{"a": 34, "b": 33, "c": 33}, MaxIncrement: 10},
			map[string]int{"a": 29, "b": 28, "c": 43}},
		{"excluded drained beyond the increment", map[string]float64{"a": 1, "b": 1, "c": 1},
			Bounds{Versions: v3, Current: map[string]int{"a": 20, "b": 20, "c": 60}, Excluded: map[string]bool{"c": true}, MaxIncrement: 10},
			map[string]int{"a": 50, "b": 50, "c": 0}},
		{"excluded baseline keeps what caps leave", map[string]float64{"b": 1, "c": 1},
			Bounds{Versions: v3, Current: map[string]int{"a": 50, "b": 25, "c": 25}, Excluded: map[string]bool{"a": true}, MaxCandidate: 40},
			map[string]int{"a": 20, "b": 40, "c": 40}},
		{"excluded baseline never gains: caps give way", map[string]float64{"b": 1, "c": 1},
			Bounds{Versions: v3, Current: map[string]int{"a": 10, "b": 45, "c": 45}, Excluded: map[string]bool{"a": true}, MaxCandidate: 30},
			map[string]int{"a": 10, "b": 45, "c": 45}},
		{"all excluded: baseline", map[string]float64{"a": 1},
			Bounds{Versions: v3, Excluded: map[string]bool{"a": true, "b": true, "c": true}},
			map[string]int{"a": 100, "b": 0, "c": 0}},
		{"floor yields to increment", map[string]float64{"b": 1, "c": 1},
			Bounds{Versions: v3, Current: map[string]int{"a": 98, "b": 1, "c": 1}, Floor: 5, MaxIncrement: 1},
			map[string]int{"a": 97, "b": 2, "c": 1}},
		{"no versions", map[string]float64{"a": 1}, Bounds{}, map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Split(tc.w, tc.b)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Split() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSplitProperties checks Split's guarantees over many random inputs.
func TestSplitProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for run := range 5000 {
		n := 1 + r.IntN(10)
		b := Bounds{Excluded: map[string]bool{}}
		w := map[string]float64{}
		for i := range n {
			v := fmt.Sprintf("v%d", i)
			b.Versions = append(b.Versions, v)
			w[v] = r.Float64() * float64(r.IntN(3)) // some zeros
			if r.IntN(4) == 0 {
				b.Excluded[v] = true
			}
		}
		if r.IntN(2) == 0 {
			b.Current = randomSplit(r, b.Versions)
		}
		b.Floor = r.IntN(8)
		if r.IntN(2) == 0 {
			b.MaxCandidate = 1 + r.IntN(100)
		}
		if r.IntN(2) == 0 {
			b.MaxIncrement = 1 + r.IntN(30)
		}
		got := Split(w, b)
		desc := fmt.Sprintf("run %d: Split(%v, %+v) = %v", run, w, b, got)

		sum, alive, capsFit := 0, 0, 0
		for i, v := range b.Versions {
			p := got[v]
			sum += p
			if p < 0 || p > 100 {
				t.Fatalf("%s: %s has %d", desc, v, p)
			}
			if !b.Excluded[v] {
				alive++
				if i > 0 && b.MaxCandidate > 0 {
					capsFit += b.MaxCandidate
				} else {
					capsFit += 100
				}
			}
		}
		if sum != 100 || len(got) != n {
			t.Fatalf("%s: sums to %d over %d versions", desc, sum, len(got))
		}
		for i, v := range b.Versions {
			p := got[v]
			switch {
			case alive == 0:
				if want := map[bool]int{true: 100, false: 0}[i == 0]; p != want {
					t.Fatalf("%s: all excluded, %s has %d", desc, v, p)
				}
			case b.Excluded[v] && b.Current != nil && p > b.Current[v]:
				t.Fatalf("%s: excluded %s gained", desc, v)
			case b.Excluded[v] && p > 0 && (i > 0 || capsFit >= 100):
				t.Fatalf("%s: excluded %s kept %d", desc, v, p)
			case i > 0 && b.MaxCandidate > 0 && p > b.MaxCandidate && !b.Excluded[b.Versions[0]]:
				t.Fatalf("%s: %s above its cap", desc, v)
			}
		}
		// Without exclusions, from a split within the caps, every move
		// respects the increment bound.
		if b.Current != nil && b.MaxIncrement > 0 && alive == n && withinCaps(b) {
			for _, v := range b.Versions {
				if d := got[v] - b.Current[v]; d > b.MaxIncrement || -d > b.MaxIncrement {
					t.Fatalf("%s: %s moved by %d", desc, v, d)
				}
			}
		}
		if again := Split(w, b); !cmp.Equal(got, again) {
			t.Fatalf("%s: second call gave %v", desc, again)
		}
	}
}

func withinCaps(b Bounds) bool {
	for _, v := range b.Versions[1:] {
		if b.MaxCandidate > 0 && b.Current[v] > b.MaxCandidate {
			return false
		}
	}
	return true
}

func randomSplit(r *rand.Rand, versions []string) map[string]int {
	w := map[string]float64{}
	for _, v := range versions {
		w[v] = r.Float64()
	}
	return Split(w, Bounds{Versions: versions})
}

func BenchmarkSplit(b *testing.B) {
	versions := []string{"v1", "v2", "v3", "v4", "v5"}
	w := map[string]float64{"v1": 0.1, "v2": 0.4, "v3": 0.3, "v4": 0.15, "v5": 0.05}
	bounds := Bounds{Versions: versions, Current: map[string]int{"v1": 20, "v2": 20, "v3": 20, "v4": 20, "v5": 20},
		Excluded: map[string]bool{"v5": true}, Floor: 5, MaxCandidate: 60, MaxIncrement: 10}
	for b.Loop() {
		Split(w, bounds)
	}
}
