package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestGammaShapeMatchesGonum holds gammaShape to gonum's Gamma.Rand, and
// the Beta draw made of two of them to gonum's Beta.Rand, bit for bit and
// stream position for stream position: the engine's assessments must not
// change with the speedup.
func TestGammaShapeMatchesGonum(t *testing.T) {
	shapes := []float64{0, 0.001, 0.05, 0.1, 0.1999, 0.2, 0.25, 0.5, 0.9999, 1, 1.0001, 1.5, 2, 3.7, 10, 123.25, 5000.5, 1e6}
	for _, a := range shapes {
		want, got := rand.NewPCG(7, uint64(a*1e4)), rand.NewPCG(7, uint64(a*1e4))
		g, r := newGammaShape(a), rand.New(got)
		for i := range 2000 {
			w := 0.0
			if a > 0 {
				w = distuv.Gamma{Alpha: a, Beta: 1, Src: want}.Rand()
			}
			if x := g.rand(r); math.Float64bits(x) != math.Float64bits(w) {
				t.Fatalf("a=%v draw %d: %v, gonum %v", a, i, x, w)
			}
		}
		if w, g := want.Uint64(), got.Uint64(); w != g {
			t.Fatalf("a=%v: the streams parted after the draws", a)
		}
	}
	for _, ab := range [][2]float64{{0.5, 0.5}, {1, 1}, {3, 997}, {120.5, 1080.5}, {0.1, 40}} {
		want, got := rand.NewPCG(3, 9), rand.NewPCG(3, 9)
		b, ga, gb, r := distuv.Beta{Alpha: ab[0], Beta: ab[1], Src: want}, newGammaShape(ab[0]), newGammaShape(ab[1]), rand.New(got)
		for i := range 2000 {
			x, y := ga.rand(r), gb.rand(r)
			if x, w := x/(x+y), b.Rand(); math.Float64bits(x) != math.Float64bits(w) {
				t.Fatalf("beta %v draw %d: %v, gonum %v", ab, i, x, w)
			}
		}
	}
}
