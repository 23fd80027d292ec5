package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gonum.org/v1/gonum/stat"
)

func TestMergeMeanMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = 1e6 + 3*rng.NormFloat64() // a large offset stresses stability
	}
	// Merge windows of random sizes, some empty, in order.
	var got Data
	for i := 0; i < len(xs); {
		j := min(len(xs), i+rng.IntN(50))
		var w Data
		for _, x := range xs[i:j] {
			if err := w.Merge(Mean, Data{Count: 1, Mu: x}); err != nil {
				t.Fatal(err)
			}
		}
		if err := got.Merge(Mean, w); err != nil {
			t.Fatal(err)
		}
		i = j
	}
	m, v := stat.MeanVariance(xs, nil)
	want := Data{Count: float64(len(xs)), Mu: m, M2: v * float64(len(xs)-1)}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-9, 0)); diff != "" {
		t.Errorf("merged windows (-direct +merged):\n%s", diff)
	}
}

func TestMerge(t *testing.T) {
	b := []float64{1, 2}
	cases := []struct {
		name    string
		kind    Kind
		d, o    Data
		want    Data
		wantErr string
	}{
		{"ratio", Ratio, Data{Successes: 1, Trials: 4}, Data{Successes: 2, Trials: 6}, Data{Successes: 3, Trials: 10}, ""},
		{"mean into empty", Mean, Data{}, Data{Count: 2, Mu: 3, M2: 2}, Data{Count: 2, Mu: 3, M2: 2}, ""},
		{"empty mean", Mean, Data{Count: 2, Mu: 3, M2: 2}, Data{}, Data{Count: 2, Mu: 3, M2: 2}, ""},
		// {1, 3} and {5}: mean 3, M2 = 4 + 0 + 4.
		{"means", Mean, Data{Count: 2, Mu: 2, M2: 2}, Data{Count: 1, Mu: 5}, Data{Count: 3, Mu: 3, M2: 8}, ""},
		{"histograms", Quantile, Data{Bounds: b, Counts: []float64{1, 2, 3}}, Data{Bounds: b, Counts: []float64{1, 0, 1}}, Data{Bounds: b, Counts: []float64{2, 2, 4}}, ""},
		{"histogram into empty", Quantile, Data{}, Data{Bounds: b, Counts: []float64{1, 0, 1}}, Data{Bounds: b, Counts: []float64{1, 0, 1}}, ""},
		{"empty histogram", Quantile, Data{Bounds: b, Counts: []float64{1, 0, 1}}, Data{}, Data{Bounds: b, Counts: []float64{1, 0, 1}}, ""},
		{"other bounds", Quantile, Data{Bounds: b, Counts: []float64{1, 0, 1}}, Data{Bounds: []float64{1, 3}, Counts: []float64{1, 0, 1}}, Data{}, "bounds"},
		{"other counts", Quantile, Data{Bounds: b, Counts: []float64{1, 0, 1}}, Data{Bounds: b, Counts: []float64{1}}, Data{}, "counts"},
		{"unknown kind", Kind(9), Data{}, Data{}, Data{}, "unknown metric kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.d.Merge(c.kind, c.o)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Merge error %v, want one mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, c.d); diff != "" {
				t.Errorf("Merge (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMergeDoesNotAlias: merging must not write into slices the caller
// still holds.
func TestMergeDoesNotAlias(t *testing.T) {
	b := []float64{1}
	shared := []float64{1, 1}
	d := Data{Bounds: b, Counts: shared}
	if err := d.Merge(Quantile, Data{Bounds: b, Counts: []float64{5, 5}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{1, 1}, shared); diff != "" {
		t.Errorf("caller's counts changed (-want +got):\n%s", diff)
	}
	var e Data
	src := Data{Bounds: b, Counts: []float64{2, 2}}
	if err := e.Merge(Quantile, src); err != nil {
		t.Fatal(err)
	}
	e.Counts[0] = 99
	if src.Counts[0] != 2 {
		t.Errorf("merging into an empty histogram aliased the source")
	}
}

func TestFromMoments(t *testing.T) {
	xs := []float64{2, 4, 4, 4, 5, 5, 7, 9}
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	m, v := stat.MeanVariance(xs, nil)
	cases := []struct {
		name              string
		count, sum, sumSq float64
		want              Data
	}{
		{"data", 8, sum, sq, Data{Count: 8, Mu: m, M2: v * 7}},
		{"rounding below zero", 3, 3, 3 - 1e-12, Data{Count: 3, Mu: 1, M2: 0}},
		{"nothing", 0, 0, 0, Data{}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, FromMoments(c.count, c.sum, c.sumSq), cmpopts.EquateApprox(1e-12, 1e-12)); diff != "" {
			t.Errorf("%s: FromMoments (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestEmpiricalInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 7, 1000, 2001} {
		for _, dup := range []bool{false, true} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = rng.NormFloat64()
				if dup {
					xs[i] = math.Round(xs[i])
					if i%3 == 0 {
						xs[i] = math.Inf(1)
					}
				}
			}
			sorted := append([]float64(nil), xs...)
			slices.Sort(sorted)
			for _, tail := range []float64{0.025, 0.05, 0.25} {
				scratch := append([]float64(nil), xs...)
				lo, hi := empiricalInterval(scratch, tail)
				wlo := stat.Quantile(tail, stat.Empirical, sorted, nil)
				whi := stat.Quantile(1-tail, stat.Empirical, sorted, nil)
				if lo != wlo || hi != whi {
					t.Errorf("n %d, dup %v, tail %v: [%v, %v], want [%v, %v]", n, dup, tail, lo, hi, wlo, whi)
				}
			}
		}
	}
}
