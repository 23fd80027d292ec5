package experiment

import (
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// foldEvidence returns the reward evidence (stats.Evidence) after the
// window obs, from st's data before it: the statistics engine's best-version
// e-processes need each window on its own, which the totals in State.Data
// no longer tell. Nil without a reward. obs has passed fold already.
func foldEvidence(spec events.ExperimentSpec, st State, obs events.MetricsObserved) (*stats.Evidence, error) {
	if spec.Reward == nil {
		return nil, nil
	}
	blank := State{ID: st.ID, Versions: st.Versions, Data: make([][]stats.Data, len(st.Versions))}
	for i := range blank.Data {
		blank.Data[i] = make([]stats.Data, len(spec.Metrics))
	}
	window, err := fold(spec, blank, obs)
	if err != nil {
		return nil, err
	}
	p := Problem(spec, 0, 0)
	r := p.Reward.Metric
	before, now := make([]stats.Data, len(st.Versions)), make([]stats.Data, len(st.Versions))
	for v := range st.Versions {
		before[v], now[v] = st.Data[v][r], window[v][r]
	}
	var ev stats.Evidence
	if st.Evidence != nil {
		ev = *st.Evidence
	}
	ev = ev.Fold(p.Metrics[r], p.Reward.Maximize, before, now)
	return &ev, nil
}
