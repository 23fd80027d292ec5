package present

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// Num prints a metric value with three significant digits, the precision
// a 95% interval from a few thousand requests supports; very large and very
// small values go to exponent form so that a column stays narrow.
func Num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0):
		if v > 0 {
			return "∞"
		}
		return "-∞"
	case a == 0:
		return "0"
	case a >= 1e6 || a < 1e-4:
		return strconv.FormatFloat(v, 'e', 2, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		decimals := 2 - int(math.Floor(math.Log10(a)))
		return strconv.FormatFloat(v, 'f', decimals, 64)
	}
}

// Prob prints a probability with three decimals. Values that round to 0
// or 1 print as "<0.001" and ">0.999": the probabilities are Monte Carlo
// estimates from finite data, never certainties, and "1" would read as
// one. nil and negative values (unknown) print as "-".
func Prob(p *float64) string {
	if p == nil || *p < 0 || math.IsNaN(*p) {
		return "-"
	}
	switch v := *p; {
	case v < 0.0005:
		return "<0.001"
	case v >= 0.9995:
		return ">0.999"
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// Percent prints a confidence such as 0.95 as "95%".
func Percent(c float64) string {
	return strconv.FormatFloat(c*100, 'f', -1, 64) + "%"
}

// WithUnit appends the metric's unit to a printed value.
func WithUnit(s, unit string) string {
	if unit == "" || s == "-" {
		return s
	}
	return s + " " + unit
}

// Limit prints an objective's limit as the user wrote it: 0.01, not the
// 0.0100 Num would print.
func Limit(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Interval prints a credible interval as "[lo, hi]"; "-" when unknown.
func Interval(lo, hi *float64) string {
	if lo == nil || hi == nil {
		return "-"
	}
	return "[" + Num(*lo) + ", " + Num(*hi) + "]"
}

// ObjectiveText states every objective on one metric, such as "≤ 0.01" or
// "≤ 1.1× baseline", joined with " and "; "" when the metric has none.
func ObjectiveText(spec events.ExperimentSpec, metric string) string {
	var parts []string
	for _, o := range spec.Objectives {
		if o.Metric != metric {
			continue
		}
		upper, limit, relative := o.Limit()
		op := "≥ "
		if upper {
			op = "≤ "
		}
		if relative {
			parts = append(parts, op+strconv.FormatFloat(limit, 'f', -1, 64)+"× baseline")
		} else {
			parts = append(parts, op+Limit(limit))
		}
	}
	return strings.Join(parts, " and ")
}

// Count prints a count with thousands separators.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Split prints a split in the versions' order, such as "v1=70 v2=30".
func Split(versions []string, traffic map[string]int) string {
	if len(traffic) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(traffic))
	seen := map[string]bool{}
	for _, v := range versions {
		if pct, ok := traffic[v]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", v, pct))
			seen[v] = true
		}
	}
	for _, v := range sortedKeys(traffic) {
		if !seen[v] {
			parts = append(parts, fmt.Sprintf("%s=%d", v, traffic[v]))
		}
	}
	return strings.Join(parts, " ")
}

// Duration prints a configured or remaining duration the way it is
// written in a spec ("2h", "1h15m", "90s" as "1m30s"), rounded to the
// minute from ten minutes up, where seconds are noise.
func Duration(d time.Duration) string {
	if d >= 10*time.Minute {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Second)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Truncate shortens s to at most n runes, ending in "…" when cut.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 1 {
		return s
	}
	return string(r[:n-1]) + "…"
}
