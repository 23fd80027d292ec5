package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// String names the kind in errors and documents.
func (k Kind) String() string {
	switch k {
	case Ratio:
		return "ratio"
	case Mean:
		return "mean"
	case Quantile:
		return "quantile"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// String names the verdict.
func (v Verdict) String() string {
	switch v {
	case Undecided:
		return "undecided"
	case Satisfied:
		return "satisfied"
	case Violated:
		return "violated"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Merge adds o into d; both hold data of kind k. Mean data are combined with
// the parallel update of Chan, Golub & LeVeque (1979), which stays accurate
// when windows of very different sizes are merged. Quantile data must share
// their bounds; an empty histogram (no bounds, no counts) adopts o's.
func (d *Data) Merge(k Kind, o Data) error {
	switch k {
	case Ratio:
		d.Successes += o.Successes
		d.Trials += o.Trials
	case Mean:
		switch {
		case o.Count == 0:
		case d.Count == 0:
			d.Count, d.Mu, d.M2 = o.Count, o.Mu, o.M2
		default:
			n := d.Count + o.Count
			delta := o.Mu - d.Mu
			d.Mu += delta * (o.Count / n)
			d.M2 += o.M2 + delta*delta*(d.Count/n)*o.Count
			d.Count = n
		}
	case Quantile:
		if len(o.Bounds) == 0 && len(o.Counts) == 0 {
			return nil
		}
		if len(d.Bounds) == 0 && len(d.Counts) == 0 {
			// Copies, so that later merges never write into o's slices.
			d.Bounds = slices.Clone(o.Bounds)
			d.Counts = slices.Clone(o.Counts)
			return nil
		}
		if !slices.Equal(d.Bounds, o.Bounds) {
			return fmt.Errorf("merge quantile data: bounds %v differ from %v", o.Bounds, d.Bounds)
		}
		if len(d.Counts) != len(o.Counts) {
			return fmt.Errorf("merge quantile data: %d counts differ from %d", len(o.Counts), len(d.Counts))
		}
		// A fresh slice: d.Counts may be shared with the caller's copy.
		sum := make([]float64, len(d.Counts))
		for i := range sum {
			sum[i] = d.Counts[i] + o.Counts[i]
		}
		d.Counts = sum
	default:
		return fmt.Errorf("merge data: unknown metric kind %v", k)
	}
	return nil
}

// FromMoments builds Mean data from a count, a sum and a sum of squares, as
// exported by Prometheus-style summaries. Rounding can make the sum of
// squared deviations slightly negative; it is clamped at zero.
func FromMoments(count, sum, sumSquares float64) Data {
	if !(count > 0) {
		return Data{}
	}
	mu := sum / count
	m2 := sumSquares - sum*mu
	if !(m2 > 0) {
		m2 = 0
	}
	return Data{Count: count, Mu: mu, M2: m2}
}

// samples is the number of observations in d.
func (d Data) Samples(k Kind) float64 {
	switch k {
	case Ratio:
		return d.Trials
	case Mean:
		return d.Count
	case Quantile:
		s := 0.0
		for _, c := range d.Counts {
			s += c
		}
		return s
	}
	return 0
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// validate checks d as data of metric m.
func (d Data) validate(m Metric) error {
	switch m.Kind {
	case Ratio:
		if !finite(d.Trials) || !finite(d.Successes) || d.Trials < 0 || d.Successes < 0 || d.Successes > d.Trials {
			return fmt.Errorf("ratio data %v successes in %v trials: need 0 <= successes <= trials, finite", d.Successes, d.Trials)
		}
	case Mean:
		if !finite(d.Count) || d.Count < 0 || !finite(d.Mu) || !finite(d.M2) || d.M2 < 0 {
			return fmt.Errorf("mean data count %v, mean %v, M2 %v: need finite, count >= 0, M2 >= 0", d.Count, d.Mu, d.M2)
		}
	case Quantile:
		if len(d.Bounds) == 0 && len(d.Counts) == 0 {
			return nil
		}
		if len(d.Counts) != len(d.Bounds)+1 {
			return fmt.Errorf("quantile data: %d counts for %d bounds, need bounds+1", len(d.Counts), len(d.Bounds))
		}
		for i, b := range d.Bounds {
			if !finite(b) || (i > 0 && !(b > d.Bounds[i-1])) {
				return fmt.Errorf("quantile data: bounds %v must be finite and increasing", d.Bounds)
			}
		}
		for _, c := range d.Counts {
			if !finite(c) || c < 0 {
				return fmt.Errorf("quantile data: counts %v must be finite and non-negative", d.Counts)
			}
		}
	default:
		return errors.New("unknown metric kind")
	}
	return nil
}
