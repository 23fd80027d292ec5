package simulate

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Report is the contract's JSON output (the first twelve fields, with
// these names and meanings) plus extras.
type Report struct {
	Scenario        string             `json:"scenario"`
	Policy          string             `json:"policy"`
	Runs            int                `json:"runs"`
	Seed            uint64             `json:"seed"`
	Outcomes        map[string]int     `json:"outcomes"`
	CorrectRate     float64            `json:"correctRate"`
	Samples         Summary            `json:"samples"`
	Intervals       Summary            `json:"intervals"`
	Exposure        map[string]float64 `json:"exposure"`
	FailingExposure float64            `json:"failingExposure"`
	Regret          Regret             `json:"regret"`
	LowerBound      *LowerBound        `json:"lowerBound"`

	// Expect echoes the scenario's acceptable outcomes.
	Expect []string `json:"expect"`
	// CorrectRateInterval is the 95% Wilson interval of correctRate: how
	// far the runs pin it down.
	CorrectRateInterval [2]float64 `json:"correctRateInterval"`
	// RatioToLowerBound is samples.mean / lowerBound.samples.
	RatioToLowerBound *float64 `json:"ratioToLowerBound"`
	// LaiRobbins is the regret reference at the horizon, to compare with
	// regret.horizonMean.
	LaiRobbins *LaiRobbins `json:"laiRobbins"`
}

// Summary is the mean, median and 90th percentile over runs (the
// empirical quantiles: order statistics, no interpolation).
type Summary struct {
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

// Regret is the mean over runs of the reward lost.
type Regret struct {
	// Mean is the contract's regret: over the requests served until the
	// decision.
	Mean float64 `json:"mean"`
	// HorizonMean also counts the expected loss of the split left in place
	// from the decision to the horizon: the quantity Lai–Robbins bounds.
	HorizonMean float64 `json:"horizonMean"`
}

// Summarize turns runs into the report.
func Summarize(s Scenario, policy string, seed uint64, runs []RunResult) Report {
	spec := s.Experiment.Defaulted()
	versions := spec.Versions()
	truth := TruthOf(s)
	r := Report{
		Scenario: s.Name, Policy: policy, Runs: len(runs), Seed: seed,
		Outcomes: map[string]int{}, Exposure: map[string]float64{},
		Expect:     slices.Clone(s.Expect),
		LowerBound: GKBound(s, truth), LaiRobbins: LaiRobbinsBound(s, truth),
	}
	for _, o := range PossibleOutcomes(spec) {
		r.Outcomes[o] = 0
	}
	served := make([]float64, len(versions))
	var samples, intervals []float64
	var all, failing, regret, horizon float64
	correct := 0
	for _, run := range runs {
		r.Outcomes[run.Outcome]++
		if slices.Contains(s.Expect, run.Outcome) {
			correct++
		}
		n := 0.0
		for v, c := range run.Served {
			served[v] += float64(c)
			n += float64(c)
			if truth.Failing[v] {
				failing += float64(c)
			}
		}
		all += n
		samples = append(samples, n)
		intervals = append(intervals, float64(run.Intervals))
		regret += run.Regret
		horizon += run.HorizonRegret
	}
	runsF := float64(len(runs))
	r.CorrectRate = round(float64(correct)/runsF, 4)
	lo, hi := wilson(float64(correct), runsF, distuv.UnitNormal.Quantile(0.975))
	r.CorrectRateInterval = [2]float64{round(lo, 4), round(hi, 4)}
	r.Samples = summarize(samples)
	r.Intervals = summarize(intervals)
	for v, name := range versions {
		r.Exposure[name] = round(served[v]/all, 4)
	}
	r.FailingExposure = round(failing/all, 4)
	r.Regret = Regret{Mean: round(regret/runsF, 2), HorizonMean: round(horizon/runsF, 2)}
	if r.LowerBound != nil {
		ratio := round(r.Samples.Mean/r.LowerBound.Samples, 3)
		r.RatioToLowerBound = &ratio
		r.LowerBound.Samples = math.Round(r.LowerBound.Samples)
	}
	if r.LaiRobbins != nil {
		r.LaiRobbins.Constant = round(r.LaiRobbins.Constant, 3)
		r.LaiRobbins.Regret = round(r.LaiRobbins.Regret, 2)
	}
	return r
}

func summarize(xs []float64) Summary {
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	return Summary{
		Mean:   round(stat.Mean(sorted, nil), 1),
		Median: stat.Quantile(0.5, stat.Empirical, sorted, nil),
		P90:    stat.Quantile(0.9, stat.Empirical, sorted, nil),
	}
}

// round keeps the report readable; the digits dropped are far below the
// Monte Carlo error of any benchmark.
func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// WriteJSON writes one report as one JSON object and a newline.
func WriteJSON(w io.Writer, r Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode report of %s/%s: %w", r.Scenario, r.Policy, err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write report of %s/%s: %w", r.Scenario, r.Policy, err)
	}
	return nil
}

// TableHeader names the columns of TableRow.
var TableHeader = []string{
	"scenario", "policy", "correct", "outcomes", "samples mean", "median", "p90",
	"failing share", "regret", "÷ GK bound",
}

// TableRow is one report as table cells.
func TableRow(r Report) []string {
	var outs []string
	for _, o := range slices.Sorted(maps.Keys(r.Outcomes)) {
		if n := r.Outcomes[o]; n > 0 {
			outs = append(outs, fmt.Sprintf("%s %d", o, n))
		}
	}
	ratio := "—"
	if r.RatioToLowerBound != nil {
		ratio = fmt.Sprintf("%.2f (GK %.0f)", *r.RatioToLowerBound, r.LowerBound.Samples)
	}
	return []string{
		r.Scenario, r.Policy,
		fmt.Sprintf("%.3f", r.CorrectRate),
		strings.Join(outs, ", "),
		fmt.Sprintf("%.0f", r.Samples.Mean),
		fmt.Sprintf("%.0f", r.Samples.Median),
		fmt.Sprintf("%.0f", r.Samples.P90),
		fmt.Sprintf("%.4f", r.FailingExposure),
		fmt.Sprintf("%.1f", r.Regret.Mean),
		ratio,
	}
}

// WriteTable writes reports as an aligned text table.
func WriteTable(w io.Writer, reports []Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(TableHeader, "\t"))
	for _, r := range reports {
		fmt.Fprintln(tw, strings.Join(TableRow(r), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}
