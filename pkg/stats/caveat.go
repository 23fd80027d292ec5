package stats

import (
	"fmt"
	"strconv"
)

// Caveat says, for people, when a metric's credible interval is in a
// regime where the calibration benchmark (docs/statistics.md, Calibration)
// measured coverage below or above the 93-97% band; "" otherwise. The
// decisions never rest on these intervals; the caveat is for whoever reads
// the number.
func Caveat(m Metric, d Data) string {
	switch m.Kind {
	case Ratio:
		if d.Trials <= 0 {
			return ""
		}
		few, what := d.Successes, "events"
		if f := d.Trials - d.Successes; f < few {
			few, what = f, "non-events"
		}
		if few == 1 {
			what = what[:len(what)-1]
		}
		if few <= 2 {
			return fmt.Sprintf("%s %s in %s: with so few, the interval's coverage depends on the count (87.8%% measured at p = 0.002, n = 300)",
				fmtCount(few), what, fmtCount(d.Trials))
		}
	case Mean:
		if d.Count > 0 && d.Count < minAsymptoticSamples {
			return fmt.Sprintf("%s observations: for skewed data the interval covers less (91.5%% measured for a lognormal latency at 30)", fmtCount(d.Count))
		}
	case Quantile:
		return quantileCaveat(m.Q, d)
	}
	return ""
}

// quantileCaveat flags a quantile whose bucket has an edge with fewer than
// edgeCount observations beyond it: the within-bucket model then rests on
// the prior at that edge.
func quantileCaveat(q float64, d Data) string {
	n := d.Samples(Quantile)
	if n <= 0 || len(d.Counts) != len(d.Bounds)+1 {
		return ""
	}
	cum := 0.0
	for j, b := range d.Bounds {
		below := cum
		cum += d.Counts[j]
		if cum < q*n {
			continue
		}
		switch {
		case n-cum < edgeCount:
			return fmt.Sprintf("fewer than %d observations above %s: the interval's upper part rests on the within-bucket model (89%% coverage measured for such a p99)", edgeCount, fmtCount(b))
		case j > 0 && below < edgeCount:
			return fmt.Sprintf("fewer than %d observations below %s: the interval's lower part rests on the within-bucket model", edgeCount, fmtCount(d.Bounds[j-1]))
		}
		return ""
	}
	return ""
}

func fmtCount(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
