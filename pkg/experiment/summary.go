package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Summary is one line for people, for the iter8.dev/status annotation and
// `kn iter8 status`, such as
//
//	Running · abn · iteration 14 · leader v2 (P(best)=0.93) · traffic v1=10 v2=70 v3=20
//	Completed · canary · rolledBack · v2 violates errors ≤ 0.01 · iteration 5 · traffic v1=100 v2=0
//
// It reads only its arguments, so the same state always reads the same.
func Summary(spec events.ExperimentSpec, st State) string {
	spec = spec.Defaulted()
	parts := []string{string(st.Phase), spec.Kind}
	switch st.Phase {
	case PhaseCompleted:
		outcome := st.Outcome
		if st.Winner != "" {
			outcome += " " + st.Winner
		}
		parts = append(parts, outcome, st.Reason)
	case PhaseFailed:
		parts = append(parts, st.Reason)
	}
	parts = append(parts, fmt.Sprintf("iteration %d", st.Iteration))
	if st.Phase == PhaseRunning || st.Phase == PhasePaused {
		parts = append(parts, evidence(spec, st))
		for _, note := range spec.Decidability() {
			parts = append(parts, "warning: "+note)
		}
	}
	if spec.Load != nil {
		parts = append(parts, st.Load.Line())
	}
	if len(st.Excluded) > 0 {
		parts = append(parts, "excluded "+strings.Join(st.Excluded, " "))
	}
	if spec.Kind != events.KindPerformance { // its split is only nominal
		w := make([]string, len(st.Versions))
		for i, v := range st.Versions {
			w[i] = fmt.Sprintf("%s=%d", v, st.Traffic[v])
		}
		parts = append(parts, "traffic "+strings.Join(w, " "))
	}
	return strings.Join(parts, " · ")
}

// evidence is the part of Summary that says how far the evidence has got.
func evidence(spec events.ExperimentSpec, st State) string {
	l := st.Last
	if l == nil || len(l.Prob) != len(st.Versions) {
		return "waiting for data"
	}
	switch spec.Kind {
	case events.KindAB, events.KindABN:
		if l.Leader == "" {
			return "no leader yet"
		}
		for i, v := range st.Versions {
			if v == l.Leader {
				return fmt.Sprintf("leader %s (P(best)=%s)", v, prob(l.Prob[i]))
			}
		}
		return "leader " + l.Leader
	case events.KindCanary:
		return fmt.Sprintf("%s P(objectives)=%s", st.Versions[1], prob(l.Prob[1]))
	}
	return fmt.Sprintf("%s P(objectives)=%s", st.Versions[0], prob(l.Prob[0]))
}

func prob(p float64) string {
	if p < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", p)
}

// snapshot summarises an assessment for the state.
func snapshot(spec events.ExperimentSpec, st State, a stats.Assessment, decision string) *Snapshot {
	s := &Snapshot{Decision: decision, Prob: make([]float64, len(a.Versions)), Verdicts: make([]string, len(a.Versions))}
	withReward := spec.Reward != nil
	for i, vr := range a.Versions {
		p := vr.ProbFeasible
		if withReward {
			p = vr.ProbWin
		}
		s.Prob[i] = round3(p)
		s.Verdicts[i] = verdict(vr.Verdict)
	}
	if withReward && a.Leader >= 0 && a.Leader < len(st.Versions) {
		s.Leader = st.Versions[a.Leader]
	}
	return s
}

func verdict(v stats.Verdict) string {
	switch v {
	case stats.Satisfied:
		return "satisfied"
	case stats.Violated:
		return "violated"
	}
	return "undecided"
}

// assessed is the events.Assessed of one assessment. JSON has no NaN, so
// probabilities without meaning are left out and undefined numbers
// (such as the mean of a metric without data) are written as 0.
func assessed(spec events.ExperimentSpec, st State, a stats.Assessment, samples []float64, decision string) events.Assessed {
	out := events.Assessed{
		Iteration: st.Iteration, Phase: string(st.Phase), Decision: decision,
		Traffic: trafficMap(st.Versions, st.trafficList()),
	}
	if st.Last != nil {
		out.Leader = st.Last.Leader
	}
	for i, vr := range a.Versions {
		va := events.VersionAssessment{
			Version: st.Versions[i], Samples: int64(samples[i]),
			ProbBeatsBaseline: optional(vr.ProbBeatsBaseline), ProbWin: optional(vr.ProbWin),
			ProbFeasible: number(vr.ProbFeasible), ExpectedLoss: optional(vr.ExpectedLoss),
			Verdict: verdict(vr.Verdict),
		}
		if i == 0 {
			va.ProbBeatsBaseline = nil
		}
		for j, m := range spec.Metrics {
			mr := vr.Metrics[j]
			ma := events.MetricAssessment{Metric: m.Name, Mean: finitePtr(mr.Mean), Lower: finitePtr(mr.Lower), Upper: finitePtr(mr.Upper)}
			// A metric's objectives hold together at most as likely as the
			// least likely of them; with one objective, which is usual,
			// this is exact.
			pmin, has := 1.0, false
			var verdicts []stats.Verdict
			for k, o := range spec.Objectives {
				if o.Metric == m.Name {
					has = true
					pmin = math.Min(pmin, vr.ObjectiveProbs[k])
					verdicts = append(verdicts, vr.ObjectiveVerdicts[k])
				}
			}
			if has {
				ma.ProbObjective = optional(pmin)
				ma.Verdict = verdict(combine(verdicts))
			}
			va.Metrics = append(va.Metrics, ma)
		}
		out.Versions = append(out.Versions, va)
	}
	return out
}

// combine is stats' rule for a version's verdict, applied to one metric's
// objectives.
func combine(vs []stats.Verdict) stats.Verdict {
	all := true
	for _, v := range vs {
		if v == stats.Violated {
			return stats.Violated
		}
		all = all && v == stats.Satisfied
	}
	if all {
		return stats.Satisfied
	}
	return stats.Undecided
}

func optional(v float64) *float64 {
	if !finite(v) {
		return nil
	}
	return &v
}

// finitePtr is v, or nil (absent: unknown or unbounded) when v is not finite.
func finitePtr(v float64) *float64 {
	if !finite(v) {
		return nil
	}
	return &v
}

func number(v float64) float64 {
	if !finite(v) {
		return 0
	}
	return v
}
