package plan

import (
	"fmt"

	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/simulate"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// ObservedWindows is how many windows of the baseline alone AssumptionsOf
// observes, as a user's Prometheus would have seen before the start.
const ObservedWindows = 60

// AssumptionsOf is what a user planning scenario s would know: the
// baseline observed alone for ObservedWindows windows at the scenario's
// rate (drawn from its truth with seed, as Prometheus would have recorded
// it), from which the plan takes spreads and shapes, and every version's
// true metric values, as the values they expect. What the plan does not
// know is the truth's distribution families. It is how the plan's
// accuracy is measured against the simulator (docs/planning.md).
func AssumptionsOf(s simulate.Scenario, seed uint64) (Assumptions, error) {
	spec := s.Experiment.Defaulted()
	gen, err := simulate.NewGenerator(s, seed)
	if err != nil {
		return Assumptions{}, fmt.Errorf("plan %s: %w", s.Name, err)
	}
	a := Assumptions{
		Rate:     float64(s.Traffic.RequestsPerInterval) / simulate.Interval.Seconds(),
		Window:   simulate.Interval,
		Observed: map[string]stats.Data{},
		Values:   map[string]map[string]float64{},
	}
	t := simulate.DefaultStart.Add(-ObservedWindows * simulate.Interval)
	for range ObservedWindows {
		obs := gen.Window(t, t.Add(simulate.Interval), s.Traffic.RequestsPerInterval, map[string]int{spec.Baseline: 100})
		t = t.Add(simulate.Interval)
		for _, m := range spec.Metrics {
			d := a.Observed[m.Name]
			if err := d.Merge(experiment.KindOf(m.Type), simulate.DataOf(obs.Versions[spec.Baseline][m.Name])); err != nil {
				return Assumptions{}, fmt.Errorf("plan %s: metric %s: %w", s.Name, m.Name, err)
			}
			a.Observed[m.Name] = d
		}
	}
	for _, v := range spec.Versions() {
		a.Values[v] = map[string]float64{}
		for _, m := range spec.Metrics {
			a.Values[v][m.Name] = s.Truth[v][m.Name].Value(m)
		}
	}
	return a, nil
}

// ScenarioOptions are the plan options that keep s's own horizon.
func ScenarioOptions(s simulate.Scenario, seed uint64) Options {
	return Options{Seed: seed, Horizon: s.Traffic.MaxIntervals}
}
