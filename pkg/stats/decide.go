package stats

import (
	"fmt"
	"math"
	"slices"
)

// Decision is the anytime-valid part of an assessment: the verdicts and the
// best version. Its error budget delta = 1 - Confidence is split by a union
// bound so that, with probability at least 1 - delta, every verdict and the
// best version are right at every time Decide is called, however often:
// half of delta goes to the objective verdicts and half to the best version
// when a problem has both (all of it to whichever exists otherwise), and the
// verdicts' half is split evenly over every (version, objective) pair,
// the baseline's left out when Problem.BaselineUnjudged.
type Decision struct {
	// Verdicts[v][o] is version v's verdict on Problem.Objectives[o].
	Verdicts [][]Verdict
	// Best is as in Assessment.Best.
	Best int
	// Alpha is the error budget of each (version, objective) verdict;
	// DeltaBest that of Best.
	Alpha, DeltaBest float64
}

// Decide computes the anytime-valid decisions alone, without the Monte
// Carlo of Assess: the verdicts and the best version. Arguments are as for
// Assess.
func Decide(p Problem, data [][]Data, excluded []bool) (Decision, error) {
	pr, data, err := check(p, data, excluded)
	if err != nil {
		return Decision{}, err
	}
	return decide(p, pr, data, excluded), nil
}

// budget splits delta = 1 - Confidence (see Decision); the baseline takes
// no share when its verdicts are not judged.
func budget(p Problem, versions int) (alpha, deltaBest float64) {
	delta := 1 - p.Confidence
	objDelta, bestDelta := delta, delta
	if len(p.Objectives) > 0 && p.Reward != nil {
		objDelta, bestDelta = delta/2, delta/2
	}
	if p.BaselineUnjudged && versions > 1 {
		versions--
	}
	return objDelta / float64(versions*max(1, len(p.Objectives))), bestDelta
}

func decide(p Problem, pr Priors, data [][]Data, excluded []bool) Decision {
	alpha, deltaBest := budget(p, len(data))
	dec := Decision{Verdicts: make([][]Verdict, len(data)), Best: -1, Alpha: alpha, DeltaBest: deltaBest}
	for v := range data {
		dec.Verdicts[v] = make([]Verdict, len(p.Objectives))
		if v == 0 && p.BaselineUnjudged && len(data) > 1 {
			continue
		}
		for o, obj := range p.Objectives {
			m := p.Metrics[obj.Metric]
			dec.Verdicts[v][o] = ObjectiveVerdict(m, obj, data[v][obj.Metric], data[0][obj.Metric], v == 0, alpha, pr)
		}
	}
	if p.Reward != nil {
		r := p.Reward
		arms := make([]Data, len(data))
		for v := range data {
			arms[v] = data[v][r.Metric]
		}
		dec.Best = BestArm(p.Metrics[r.Metric], r.Maximize, arms, excluded, deltaBest, pr, p.Evidence)
	}
	return dec
}

// ObjectiveVerdict decides one objective for one version at error alpha:
// Satisfied when the version's confidence sequence lies inside the region
// where the objective holds, Violated when it lies inside the region where
// it fails, else Undecided (always so before minSamples observations, or
// minAsymptoticSamples for asymptotic CSs). b is the baseline's data of the
// same metric, used by relative objectives; isBaseline says v is the
// baseline itself.
//
// Absolute limits use the one-sided mixtures of onesided.go for ratios
// (each answer at error alpha), for means the one-sided empirical-Bernstein
// tests of bounded.go under the metric's declared range, and for
// quantiles the same one-sided mixtures on the fraction of values below the
// bucket bound on the safe side of the limit: "Q <= L" is Satisfied when
// the fraction below the largest bound <= L is shown above q and Violated
// when the fraction below the smallest bound >= L is shown below q
// (symmetrically for lower limits). Relative limits on ratios and
// means use the two-sample asymptotic CS of value_v - c value_b; relative
// quantile limits compare the two versions' quantile CSs, each at alpha/2.
func ObjectiveVerdict(m Metric, o Objective, v, b Data, isBaseline bool, alpha float64, pr Priors) Verdict {
	if v.Samples(m.Kind) < minSamples || (o.Relative && b.Samples(m.Kind) < minSamples) {
		return Undecided
	}
	if !o.Relative {
		switch m.Kind {
		case Quantile:
			return quantileVerdict(v, m.Q, o, alpha)
		case Ratio:
			return rateVerdict(v.Successes, v.Trials, o.Limit, o.Upper, alpha)
		}
		lo, hi := m.valueRange()
		return meanVerdict(v, lo, hi, o.Limit, o.Upper, alpha)
	}
	c := o.Limit
	if isBaseline {
		// value <= c value  <=>  (1-c) value <= 0.
		lo, hi := metricCS(m, v, alpha, pr)
		lo, hi = scaleInterval(1-c, lo, hi)
		return intervalVerdict(lo, hi, 0, o.Upper)
	}
	if m.Kind == Quantile {
		vlo, vhi := QuantileCS(v, m.Q, alpha/2, pr)
		blo, bhi := QuantileCS(b, m.Q, alpha/2, pr)
		if c <= 0 {
			blo, bhi = scaleInterval(c, blo, bhi)
			return intervalVerdict(vlo-bhi, vhi-blo, 0, o.Upper)
		}
		// Quantiles lie in (lo, hi], so Q_v <= c Q_b is sure when
		// vhi <= c blo and Q_v > c Q_b when vlo >= c bhi.
		below, above := vhi <= c*blo, vlo >= c*bhi
		switch {
		case o.Upper && below, !o.Upper && above:
			return Satisfied
		case o.Upper && above, !o.Upper && below:
			return Violated
		}
		return Undecided
	}
	lo, hi := DifferenceCS(m.Kind, v, b, c, alpha, pr)
	return intervalVerdict(lo, hi, 0, o.Upper)
}

// metricCS is the one-sample (1-alpha) CS of a metric's value.
func metricCS(m Metric, d Data, alpha float64, pr Priors) (lo, hi float64) {
	switch m.Kind {
	case Ratio:
		return BetaBinomialCS(d.Successes, d.Trials, pr.RatioA, pr.RatioB, alpha)
	case Mean:
		lo, hi := m.valueRange()
		return MeanCS(d, lo, hi, alpha)
	default:
		return QuantileCS(d, m.Q, alpha, pr)
	}
}

// scaleInterval is {c x : x in [lo, hi]}, with 0 x Inf = 0.
func scaleInterval(c, lo, hi float64) (float64, float64) {
	if c == 0 {
		return 0, 0
	}
	lo, hi = c*lo, c*hi
	if c < 0 {
		lo, hi = hi, lo
	}
	return lo, hi
}

// intervalVerdict decides "value <= limit" (upper) or "value >= limit"
// from an interval that contains the value. NaN ends (Inf - Inf) decide
// nothing because every comparison with NaN is false.
func intervalVerdict(lo, hi, limit float64, upper bool) Verdict {
	switch {
	case upper && hi <= limit, !upper && lo >= limit:
		return Satisfied
	case upper && lo > limit, !upper && hi < limit:
		return Violated
	}
	return Undecided
}

// quantileVerdict decides an absolute limit L on the q-quantile Q of a
// histogram. Q <= L iff F(L) >= q, and F is monotone, so the fraction at
// a bound below L bounds F(L) from below and one above L from above.
func quantileVerdict(d Data, q float64, o Objective, alpha float64) Verdict {
	n := d.Samples(Quantile)
	// below: largest bound <= L (< L for lower limits, which need F(L-));
	// above: smallest bound >= L; their cumulative counts.
	below, above := -1, -1
	cum, cumBelow, cumAbove := 0.0, 0.0, 0.0
	for j, b := range d.Bounds {
		cum += d.Counts[j]
		if b < o.Limit || (o.Upper && b == o.Limit) {
			below, cumBelow = j, cum
		}
		if b >= o.Limit && above < 0 {
			above, cumAbove = j, cum
		}
	}
	// fractionAbove reports whether the fraction <= the bound is surely
	// above q; fractionBelow whether it is surely below q.
	// Each is the one-sided test of onesided.go at alpha.
	fractionAbove := func(j int, c float64) bool {
		return j >= 0 && oneSidedLogE(c, n, q, true) >= -math.Log(alpha)
	}
	fractionBelow := func(j int, c float64) bool {
		return j >= 0 && oneSidedLogE(c, n, q, false) >= -math.Log(alpha)
	}
	if o.Upper {
		switch {
		case fractionAbove(below, cumBelow):
			return Satisfied
		case fractionBelow(above, cumAbove):
			return Violated
		}
		return Undecided
	}
	switch {
	case fractionBelow(above, cumAbove):
		return Satisfied
	case fractionAbove(below, cumBelow):
		return Violated
	}
	return Undecided
}

// check validates a problem and its data and returns the priors and the
// data with empty histograms given their metric's bounds and zero counts.
func check(p Problem, data [][]Data, excluded []bool) (Priors, [][]Data, error) {
	pr := priorsOf(p)
	if err := pr.validate(); err != nil {
		return pr, nil, err
	}
	if !(p.Confidence > 0 && p.Confidence < 1) {
		return pr, nil, fmt.Errorf("problem confidence %v: must be in (0, 1)", p.Confidence)
	}
	if p.Draws < 0 {
		return pr, nil, fmt.Errorf("problem draws %d: must not be negative", p.Draws)
	}
	if len(data) == 0 {
		return pr, nil, fmt.Errorf("assess: no versions")
	}
	if excluded != nil && len(excluded) != len(data) {
		return pr, nil, fmt.Errorf("assess: %d exclusions for %d versions", len(excluded), len(data))
	}
	for i, m := range p.Metrics {
		switch m.Kind {
		case Ratio, Mean:
		case Quantile:
			if !(m.Q > 0 && m.Q < 1) {
				return pr, nil, fmt.Errorf("metric %q: quantile %v must be in (0, 1)", m.Name, m.Q)
			}
		default:
			return pr, nil, fmt.Errorf("metric %d %q: unknown kind %v", i, m.Name, m.Kind)
		}
	}
	for i, o := range p.Objectives {
		if o.Metric < 0 || o.Metric >= len(p.Metrics) {
			return pr, nil, fmt.Errorf("objective %d: metric index %d out of range", i, o.Metric)
		}
		if !finite(o.Limit) {
			return pr, nil, fmt.Errorf("objective %d on metric %q: limit %v must be finite", i, p.Metrics[o.Metric].Name, o.Limit)
		}
	}
	if r := p.Reward; r != nil && (r.Metric < 0 || r.Metric >= len(p.Metrics)) {
		return pr, nil, fmt.Errorf("reward: metric index %d out of range", r.Metric)
	}
	for v, row := range data {
		if len(row) != len(p.Metrics) {
			return pr, nil, fmt.Errorf("version %d: %d metrics' data for %d metrics", v, len(row), len(p.Metrics))
		}
		for i, d := range row {
			if err := d.validate(p.Metrics[i]); err != nil {
				return pr, nil, fmt.Errorf("version %d, metric %q: %w", v, p.Metrics[i].Name, err)
			}
		}
	}
	data, err := withBounds(p, data)
	return pr, data, err
}

// withBounds gives empty histograms their metric's bounds (taken from the
// first version that has data) and zero counts, so that a version without
// data yet is assessed like any other; the caller's data is not modified.
// Histograms of one metric must share their bounds.
func withBounds(p Problem, data [][]Data) ([][]Data, error) {
	out, copied := data, false
	for i, m := range p.Metrics {
		if m.Kind != Quantile {
			continue
		}
		var bounds []float64
		found := false
		for v, row := range data {
			if len(row[i].Counts) == 0 {
				continue
			}
			if !found {
				bounds, found = row[i].Bounds, true
			} else if !slices.Equal(bounds, row[i].Bounds) {
				return nil, fmt.Errorf("version %d, metric %q: bounds %v differ from %v", v, m.Name, row[i].Bounds, bounds)
			}
		}
		for v, row := range data {
			if len(row[i].Counts) > 0 {
				continue
			}
			if !copied {
				out = make([][]Data, len(data))
				for w := range data {
					out[w] = slices.Clone(data[w])
				}
				copied = true
			}
			out[v][i] = Data{Bounds: bounds, Counts: make([]float64, len(bounds)+1)}
		}
	}
	return out, nil
}
