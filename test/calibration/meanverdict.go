package main

import (
	"math"
	"math/rand/v2"

	"github.com/iter8-knative/iter8/pkg/stats"
)

// The mean verdicts' error check (issue 21): streams of one version's mean
// metric, looked at after every window, with an absolute limit at the true
// mean, where any verdict is wrong ("Satisfied" says the mean is below it,
// "Violated" above). Each must happen in at most α of the streams. The
// verdicts assume the metric's declared range; each stream declares one
// that its values leave with probability below 10⁻¹¹ per value (7 standard
// deviations of the normal behind it), so the assumption holds and the
// heavy tails are there in full.

// meanStream is a true distribution of a Mean metric and its declared range.
type meanStream struct {
	name           string
	mean, lo, hi   float64
	draw           func(*rand.Rand) float64
	rangeStatement string
}

func lognormalStream(sigma float64) meanStream {
	return meanStream{
		name: "lognormal(0, " + fmtFloat(sigma) + ")", mean: math.Exp(sigma * sigma / 2), lo: 0, hi: math.Exp(7 * sigma),
		draw:           func(r *rand.Rand) float64 { return math.Exp(sigma * r.NormFloat64()) },
		rangeStatement: "[0, e^{7σ}]",
	}
}

// meanStreams are the distributions the issue names.
func meanStreams() []meanStream {
	return []meanStream{
		{name: "normal(5, 2²)", mean: 5, lo: 5 - 14, hi: 5 + 14,
			draw:           func(r *rand.Rand) float64 { return 5 + 2*r.NormFloat64() },
			rangeStatement: "5 ± 7σ"},
		{name: "exponential(1)", mean: 1, lo: 0, hi: 30,
			draw:           func(r *rand.Rand) float64 { return r.ExpFloat64() },
			rangeStatement: "[0, 30]"},
		lognormalStream(0.3), lognormalStream(1), lognormalStream(1.5),
	}
}

// verdictCell is the measured error of the mean verdicts on one stream.
type verdictCell struct {
	stream              meanStream
	streams, horizon    int
	alpha               float64
	satisfied, violated float64 // share of streams with a wrong verdict of each kind
	// decided is the share of streams that showed "mean <= 1.5 × truth"
	// within the horizon, and samples the mean observations it took there.
	decided, samples float64
}

// meanVerdictCell streams n observations in windows of window, checking
// the verdicts of "mean <= truth" (any verdict is wrong) and of
// "mean <= 1.5 truth" (Satisfied is right) after every window.
func meanVerdictCell(s meanStream, streams, window, horizon int, alpha float64, seed uint64) verdictCell {
	rng := rand.New(rand.NewPCG(seed, 21))
	m := stats.Metric{Name: "x", Kind: stats.Mean, Lo: s.lo, Hi: s.hi}
	atTruth := stats.Objective{Upper: true, Limit: s.mean}
	loose := stats.Objective{Upper: true, Limit: 1.5 * s.mean}
	pr := stats.DefaultPriors()
	c := verdictCell{stream: s, streams: streams, horizon: horizon, alpha: alpha}
	var sat, vio, dec int
	var samples float64
	for range streams {
		var d stats.Data
		wrong, shown := false, false
		for n := 0; n < horizon && !(wrong && shown); n += window {
			for range window {
				x := s.draw(rng)
				// Welford's update, as the merges do.
				d.Count++
				delta := x - d.Mu
				d.Mu += delta / d.Count
				d.M2 += delta * (x - d.Mu)
			}
			if !wrong {
				switch stats.ObjectiveVerdict(m, atTruth, d, stats.Data{}, false, alpha, pr) {
				case stats.Satisfied:
					sat++
					wrong = true
				case stats.Violated:
					vio++
					wrong = true
				}
			}
			if !shown && stats.ObjectiveVerdict(m, loose, d, stats.Data{}, false, alpha, pr) == stats.Satisfied {
				shown = true
				dec++
				samples += d.Count
			}
		}
	}
	c.satisfied = float64(sat) / float64(streams)
	c.violated = float64(vio) / float64(streams)
	c.decided = float64(dec) / float64(streams)
	if dec > 0 {
		c.samples = samples / float64(dec)
	}
	return c
}

// Sizes of the check: the 4,000 streams a distribution, windows of
// 10 up to 5,000 observations, at α = 0.0125 (a typical verdict's share of
// δ = 0.05).
const (
	verdictStreams = 4000
	verdictWindow  = 10
	verdictHorizon = 5000
	verdictAlpha   = 0.0125
)

// verdictErrorBound is the most wrong verdicts of one kind a valid rule
// shows in this many streams, α plus three binomial standard errors.
func verdictErrorBound(alpha float64, streams int) float64 {
	return alpha + 3*math.Sqrt(alpha*(1-alpha)/float64(streams))
}
