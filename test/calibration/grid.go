package main

import (
	"math"
	"math/rand/v2"
	"strconv"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// confidence is the nominal level of every interval measured.
const confidence = 0.95

// cell is the measured coverage of one metric type at one true value and
// sample size.
type cell struct {
	metric, truth string
	n             float64
	runs          int // 0: exact (summed over the sampling distribution)
	coverage      float64
	// below and above are the fractions of misses with the truth below the
	// interval and above it.
	below, above float64
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// quantileCell measures the 95% interval of the q-quantile of l on
// Knative's queue-proxy buckets at n observations.
func quantileCell(l latency, q, n float64, runs int, seed uint64) cell {
	bounds := simulate.DefaultLatencyBuckets
	truth := l.quantile(q)
	ps := l.bucketProbs(bounds)
	src := rand.NewPCG(seed, math.Float64bits(n)^math.Float64bits(q))
	p := stats.Problem{Metrics: []stats.Metric{{Name: "latency", Kind: stats.Quantile, Q: q}}, Confidence: confidence}
	c := cell{metric: "p" + fmtFloat(100*q), truth: l.name + ", true " + strconv.FormatFloat(truth, 'f', 1, 64) + " ms", n: n, runs: runs}
	var hit, below, above int
	for r := range runs {
		p.Seed = seed<<32 ^ uint64(r)
		d := stats.Data{Bounds: bounds, Counts: multinomial(n, ps, src)}
		a, err := stats.Assess(p, [][]stats.Data{{d}}, nil)
		if err != nil {
			panic(err)
		}
		m := a.Versions[0].Metrics[0]
		switch {
		case truth < m.Lower:
			below++
		case truth > m.Upper:
			above++
		default:
			hit++
		}
	}
	return c.finish(hit, below, above)
}

func (c cell) finish(hit, below, above int) cell {
	c.coverage = float64(hit) / float64(c.runs)
	c.below, c.above = float64(below)/float64(c.runs), float64(above)/float64(c.runs)
	return c
}

// ratioCell is the exact coverage of the ratio interval at p and n: the
// sum of the binomial probabilities of the counts whose interval holds p.
func ratioCell(p, n float64) cell {
	c := cell{metric: "ratio", truth: "p = " + fmtFloat(p), n: n}
	bin := distuv.Binomial{N: n, P: p}
	prob := stats.Problem{Metrics: []stats.Metric{{Name: "rate", Kind: stats.Ratio}}, Confidence: confidence}
	// Counts beyond 12 standard deviations carry no measurable mass.
	sd := math.Sqrt(n * p * (1 - p))
	lo, hi := math.Max(0, math.Floor(n*p-12*sd-5)), math.Min(n, math.Ceil(n*p+12*sd+5))
	for s := lo; s <= hi; s++ {
		a, err := stats.Assess(prob, [][]stats.Data{{{Successes: s, Trials: n}}}, nil)
		if err != nil {
			panic(err)
		}
		m := a.Versions[0].Metrics[0]
		w := bin.Prob(s)
		switch {
		case p < m.Lower:
			c.below += w
		case p > m.Upper:
			c.above += w
		default:
			c.coverage += w
		}
	}
	return c
}

// meanTruth is a true distribution of a Mean metric.
type meanTruth struct {
	name string
	mean float64
	draw func(*rand.Rand) float64
}

func meanTruths() []meanTruth {
	return []meanTruth{
		{"normal, σ = 17.5 ms", 57, func(r *rand.Rand) float64 { return 57 + 17.5*r.NormFloat64() }},
		{"normal, σ = 0.0175 s", 0.057, func(r *rand.Rand) float64 { return 0.057 + 0.0175*r.NormFloat64() }},
		{"lognormal(ln 55 ms, 0.6)", 55 * math.Exp(0.18), func(r *rand.Rand) float64 { return 55 * math.Exp(0.6*r.NormFloat64()) }},
	}
}

// meanCell measures the 95% interval of a Mean metric's mean.
func meanCell(t meanTruth, n float64, runs int, seed uint64) cell {
	rng := rand.New(rand.NewPCG(seed, math.Float64bits(n)))
	p := stats.Problem{Metrics: []stats.Metric{{Name: "x", Kind: stats.Mean}}, Confidence: confidence}
	c := cell{metric: "mean", truth: t.name, n: n, runs: runs}
	var hit, below, above int
	for range runs {
		var d stats.Data
		for range int(n) {
			x := t.draw(rng)
			// Welford's update, as the collector's merges do.
			d.Count++
			delta := x - d.Mu
			d.Mu += delta / d.Count
			d.M2 += delta * (x - d.Mu)
		}
		a, err := stats.Assess(p, [][]stats.Data{{d}}, nil)
		if err != nil {
			panic(err)
		}
		m := a.Versions[0].Metrics[0]
		switch {
		case t.mean < m.Lower:
			below++
		case t.mean > m.Upper:
			above++
		default:
			hit++
		}
	}
	return c.finish(hit, below, above)
}

// reliabilityBin is one bin of the P(win) reliability check.
type reliabilityBin struct {
	lo, hi float64
	runs   int
	truth  float64 // frequency with which the version is truly best
}

// winReliability runs two-version A/B assessments on a ratio reward at a
// fixed grid of true differences (base rate base, differences evenly
// spaced in [-spread, spread], zero excluded), each the same number of
// times, and bins the candidate's P(win) by tenths.
func winReliability(base, spread, n float64, steps, runsPerStep int, seed uint64) []reliabilityBin {
	bins := make([]reliabilityBin, 10)
	for i := range bins {
		bins[i].lo, bins[i].hi = float64(i)/10, float64(i+1)/10
	}
	hits := make([]int, 10)
	src := rand.NewPCG(seed, 77)
	p := stats.Problem{
		Metrics:    []stats.Metric{{Name: "conversion", Kind: stats.Ratio}},
		Reward:     &stats.Reward{Metric: 0, Maximize: true},
		Confidence: confidence, Draws: 2000,
	}
	r := 0
	for k := -steps; k <= steps; k++ {
		if k == 0 {
			continue
		}
		pb := base + spread*float64(k)/float64(steps)
		for range runsPerStep {
			r++
			p.Seed = uint64(r)
			data := [][]stats.Data{
				{{Successes: binomial(n, base, src), Trials: n}},
				{{Successes: binomial(n, pb, src), Trials: n}},
			}
			a, err := stats.Assess(p, data, nil)
			if err != nil {
				panic(err)
			}
			w := a.Versions[1].ProbWin
			i := min(9, int(w*10))
			bins[i].runs++
			if pb > base {
				hits[i]++
			}
		}
	}
	for i := range bins {
		if bins[i].runs > 0 {
			bins[i].truth = float64(hits[i]) / float64(bins[i].runs)
		}
	}
	return bins
}
