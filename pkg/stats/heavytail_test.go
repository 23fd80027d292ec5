package stats

import (
	"flag"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

var heavyTails = flag.Bool("heavytails", false, "measure the mean CS on heavy-tailed streams (4,000 streams per distribution)")

// meanCSMisses streams observations from draw (true mean mu) in windows of
// window observations up to horizon, checks MeanCS at alpha after every
// window, and returns the fractions of streams in which the truth ever lay
// above the CS (a false "Satisfied" for an upper limit) or below it.
func meanCSMisses(rng *rand.Rand, draw func(*rand.Rand) float64, mu float64, streams, window, horizon int, alpha float64) (high, low float64) {
	pr := DefaultPriors()
	var nHigh, nLow int
	for range streams {
		var d Data
		hit := false
		for n := 0; n < horizon && !hit; n += window {
			var w Data
			for range window {
				_ = w.Merge(Mean, Data{Count: 1, Mu: draw(rng)})
			}
			_ = d.Merge(Mean, w)
			lo, hi := MeanCS(d, alpha, pr)
			switch {
			case mu > hi:
				nHigh++
				hit = true
			case mu < lo:
				nLow++
				hit = true
			}
		}
	}
	return float64(nHigh) / float64(streams), float64(nLow) / float64(streams)
}

type meanStream struct {
	name string
	mu   float64
	draw func(*rand.Rand) float64
}

func lognormalStream(sigma float64) meanStream {
	return meanStream{
		name: "lognormal σ=" + strconv.FormatFloat(sigma, 'f', 1, 64), mu: math.Exp(sigma * sigma / 2),
		draw: func(r *rand.Rand) float64 { return math.Exp(sigma * r.NormFloat64()) },
	}
}

var (
	normalStream      = meanStream{"normal", 5, func(r *rand.Rand) float64 { return 5 + 2*r.NormFloat64() }}
	exponentialStream = meanStream{"exponential", 1, func(r *rand.Rand) float64 { return r.ExpFloat64() }}
)

// TestMeanCSCoverage checks the asymptotic mean CS where it holds, on
// normal and exponential streams looked at after every window of 10.
func TestMeanCSCoverage(t *testing.T) {
	const alpha, streams = 0.05, 400
	for _, s := range []meanStream{normalStream, exponentialStream} {
		high, low := meanCSMisses(rand.New(rand.NewPCG(8, 1)), s.draw, s.mu, streams, 10, 2000, alpha)
		t.Logf("%s: truth above the CS in %.4f, below in %.4f of %d streams (alpha %v)", s.name, high, low, streams, alpha)
		if bound := alpha + 3*math.Sqrt(alpha*(1-alpha)/streams); high+low > bound {
			t.Errorf("%s: misses %.4f > %.4f", s.name, high+low, bound)
		}
	}
}

// TestMeanCSHeavyTails measures the known gap of the asymptotic mean CS on
// heavy tails: 4,000 streams per distribution, every window of 10 up to
// 5,000 observations, at a per-verdict alpha of 0.0125. It fails where the
// CS misses more than alpha allows, and runs only when asked
// (-heavytails), because it is a measurement of a limitation, not a check
// that CI can keep green: see docs/statistics.md.
func TestMeanCSHeavyTails(t *testing.T) {
	if !*heavyTails {
		t.Skip("a measurement of the mean CS's known heavy-tail gap; run with -heavytails")
	}
	const alpha, streams = 0.0125, 4000
	for i, s := range []meanStream{normalStream, exponentialStream, lognormalStream(0.3), lognormalStream(1), lognormalStream(1.5)} {
		high, low := meanCSMisses(rand.New(rand.NewPCG(9, uint64(i))), s.draw, s.mu, streams, 10, 5000, alpha)
		t.Logf("%s: truth above the CS in %.4f, below in %.4f of %d streams (alpha %v)", s.name, high, low, streams, alpha)
		if bound := alpha + 3*math.Sqrt(alpha*(1-alpha)/streams); high+low > bound {
			t.Errorf("%s: misses %.4f > %.4f", s.name, high+low, bound)
		}
	}
}
