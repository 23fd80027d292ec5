package events

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"text/template"
)

// specPath is the root of every path Validate reports, so that an error
// reads the same in a rejected start event and in a kn-iter8 message.
const specPath = "spec"

// Validate reports every contradiction in s as FieldErrors with paths such
// as spec.candidates or spec.objectives[1].upperLimit. It checks s as
// Defaulted would complete it, so it may be called on a spec as written.
// A nil error means the engine can run s: every metric an objective or the
// reward names exists, the candidate count fits the kind, the traffic policy
// fits the kind, and the limits can be met.
func (s ExperimentSpec) Validate() error {
	d := s.Defaulted()
	var errs FieldErrors
	kindKnown := d.validateKind(&errs)
	d.validateVersions(&errs, kindKnown)
	metrics := d.validateMetrics(&errs)
	d.validateObjectives(&errs, metrics, kindKnown)
	d.validateReward(&errs, metrics, kindKnown)
	if math.IsNaN(d.Confidence) || d.Confidence <= 0.5 || d.Confidence >= 1 {
		errs.Add(Field(specPath, "confidence"), "must be in (0.5, 1), got %v", d.Confidence)
	}
	if kindKnown {
		d.validateTraffic(&errs)
	}
	d.validateLimits(&errs, kindKnown)
	d.validateLoad(&errs, kindKnown)
	if d.OnSuccess != OnSuccessPromote && d.OnSuccess != ActionKeep {
		errs.Add(Field(specPath, "onSuccess"), "must be %q or %q, got %s", OnSuccessPromote, ActionKeep, Quote(d.OnSuccess, MaxEcho))
	}
	if d.OnFailure != OnFailureRollback && d.OnFailure != ActionKeep {
		errs.Add(Field(specPath, "onFailure"), "must be %q or %q, got %s", OnFailureRollback, ActionKeep, Quote(d.OnFailure, MaxEcho))
	}
	return errs.Err()
}

func (d ExperimentSpec) validateKind(errs *FieldErrors) bool {
	switch d.Kind {
	case KindCanary, KindAB, KindABN, KindPerformance:
		return true
	case "":
		errs.Add(Field(specPath, "kind"), "required: one of canary, ab, abn, performance")
	default:
		errs.Add(Field(specPath, "kind"), "unknown kind %s; want canary, ab, abn or performance", Quote(d.Kind, MaxEcho))
	}
	return false
}

func (d ExperimentSpec) validateVersions(errs *FieldErrors, kindKnown bool) {
	seen := map[string]string{}
	checkName := func(path, name string) {
		if name == "" {
			errs.Add(path, "required: a revision name")
			return
		}
		if !isDNSLabel(name) {
			errs.Add(path, "%s is not a revision name (lowercase letters, digits and '-', at most 63 characters)", Quote(name, MaxEcho))
			return
		}
		if prev, dup := seen[name]; dup {
			errs.Add(path, "duplicate version %q, already at %s", name, prev)
			return
		}
		seen[name] = path
	}
	checkName(Field(specPath, "baseline"), d.Baseline)
	cpath := Field(specPath, "candidates")
	for i, c := range d.Candidates {
		checkName(Index(cpath, i), c)
	}
	n := len(d.Candidates)
	if !kindKnown {
		return
	}
	switch d.Kind {
	case KindCanary, KindAB:
		if n != 1 {
			errs.Add(cpath, "%s takes exactly one candidate, got %d", d.Kind, n)
		}
	case KindABN:
		if n < 1 {
			errs.Add(cpath, "abn takes at least one candidate, got 0")
		} else if n+1 > MaxVersions {
			errs.Add(cpath, "at most %d candidates (%d versions with the baseline), got %d", MaxVersions-1, MaxVersions, n)
		}
	case KindPerformance:
		if n != 0 {
			errs.Add(cpath, "performance takes no candidates, got %d", n)
		}
	}
}

// validateMetrics returns the metrics by name, for the checks of objectives
// and the reward; duplicates keep their first declaration.
func (d ExperimentSpec) validateMetrics(errs *FieldErrors) map[string]MetricSpec {
	mpath := Field(specPath, "metrics")
	byName := map[string]MetricSpec{}
	if len(d.Metrics) == 0 {
		errs.Add(mpath, "at least one metric is required")
	}
	if len(d.Metrics) > MaxMetrics {
		errs.Add(mpath, "at most %d metrics, got %d", MaxMetrics, len(d.Metrics))
	}
	for i, m := range d.Metrics {
		p := Index(mpath, i)
		switch {
		case m.Name == "":
			errs.Add(Field(p, "name"), "required")
		case !isDNSLabel(m.Name):
			errs.Add(Field(p, "name"), "%s must be lowercase letters, digits and '-', at most 63 characters", Quote(m.Name, MaxEcho))
		default:
			if _, dup := byName[m.Name]; dup {
				errs.Add(Field(p, "name"), "duplicate metric %q", m.Name)
			} else {
				byName[m.Name] = m
			}
		}
		switch m.Type {
		case MetricRatio, MetricMean:
			if m.Quantile != 0 {
				errs.Add(Field(p, "quantile"), "only a quantile metric takes a quantile; %q is %s", m.Name, m.Type)
			}
			if len(m.Buckets) > 0 {
				errs.Add(Field(p, "buckets"), "only a quantile metric takes buckets; %q is %s", m.Name, m.Type)
			}
			if m.Type == MetricRatio && (m.Min != nil || m.Max != nil) {
				errs.Add(p, "only a mean metric takes min and max; %q is a ratio", m.Name)
			}
			validateRange(p, m, errs)
		case MetricQuantile:
			if m.Min != nil || m.Max != nil {
				errs.Add(p, "only a mean metric takes min and max; %q is a quantile", m.Name)
			}
			if math.IsNaN(m.Quantile) || m.Quantile <= 0 || m.Quantile >= 1 {
				errs.Add(Field(p, "quantile"), "must be in (0, 1), got %v", m.Quantile)
			}
			for j, b := range m.Buckets {
				if math.IsNaN(b) || math.IsInf(b, 0) {
					errs.Add(Index(Field(p, "buckets"), j), "must be finite, got %v", b)
				} else if j > 0 && b <= m.Buckets[j-1] {
					errs.Add(Index(Field(p, "buckets"), j), "buckets must be strictly increasing, got %v after %v", b, m.Buckets[j-1])
				}
			}
		case "":
			errs.Add(Field(p, "type"), "required: one of ratio, mean, quantile")
		default:
			errs.Add(Field(p, "type"), "unknown metric type %s; want ratio, mean or quantile", Quote(m.Type, MaxEcho))
		}
		if m.OnMissing != OnMissingWait && m.OnMissing != OnMissingFail {
			errs.Add(Field(p, "onMissing"), "must be %q or %q, got %s", OnMissingWait, OnMissingFail, Quote(m.OnMissing, MaxEcho))
		}
		if m.Query != "" {
			if _, err := template.New(m.Name).Parse(m.Query); err != nil {
				errs.Add(Field(p, "query"), "not a valid template: %v", err)
			}
		}
	}
	return byName
}

func (d ExperimentSpec) validateObjectives(errs *FieldErrors, metrics map[string]MetricSpec, kindKnown bool) {
	opath := Field(specPath, "objectives")
	if len(d.Objectives) > MaxObjectives {
		errs.Add(opath, "at most %d objectives, got %d", MaxObjectives, len(d.Objectives))
	}
	if kindKnown && len(d.Objectives) == 0 && (d.Kind == KindCanary || d.Kind == KindPerformance) {
		errs.Add(opath, "%s experiments need at least one objective: they decide on objectives alone", d.Kind)
	}
	// bound remembers the tightest limit of each sort per metric, to catch
	// a lower limit above an upper one: no version could ever pass.
	type bound struct {
		value float64
		path  string
	}
	uppers := map[string]bound{}
	lowers := map[string]bound{}
	for i, o := range d.Objectives {
		p := Index(opath, i)
		m, known := metrics[o.Metric]
		if o.Metric == "" {
			errs.Add(Field(p, "metric"), "required")
		} else if !known {
			errs.Add(Field(p, "metric"), "unknown metric %s", Quote(o.Metric, MaxEcho))
		}
		limits := []struct {
			name     string
			v        *float64
			upper    bool
			relative bool
		}{
			{"upperLimit", o.UpperLimit, true, false},
			{"lowerLimit", o.LowerLimit, false, false},
			{"upperLimitRelative", o.UpperLimitRelative, true, true},
			{"lowerLimitRelative", o.LowerLimitRelative, false, true},
		}
		var set []string
		for _, l := range limits {
			if l.v == nil {
				continue
			}
			set = append(set, l.name)
			lp := Field(p, l.name)
			v := *l.v
			switch {
			case math.IsNaN(v) || math.IsInf(v, 0):
				errs.Add(lp, "must be finite, got %v", v)
				continue
			case l.relative && kindKnown && d.Kind == KindPerformance:
				errs.Add(lp, "a performance experiment has no baseline to compare with; use %s", strings.TrimSuffix(l.name, "Relative"))
				continue
			case l.relative && v <= 0:
				errs.Add(lp, "a multiple of the baseline must be > 0, got %v", v)
				continue
			case !l.relative && known && m.Type == MetricRatio && (v < 0 || v > 1):
				errs.Add(lp, "%q is a ratio, so its limit must be in [0, 1], got %v", o.Metric, v)
				continue
			}
			key := fmt.Sprintf("%s/%v", o.Metric, l.relative)
			if l.upper {
				if b, ok := uppers[key]; !ok || v < b.value {
					uppers[key] = bound{v, lp}
				}
			} else if b, ok := lowers[key]; !ok || v > b.value {
				lowers[key] = bound{v, lp}
			}
		}
		if len(set) != 1 {
			errs.Add(p, "must set exactly one of upperLimit, lowerLimit, upperLimitRelative, lowerLimitRelative; got %d", len(set))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(lowers)) {
		lo := lowers[key]
		if up, ok := uppers[key]; ok && lo.value > up.value {
			errs.Add(lo.path, "%v is above the upper limit %v at %s: no version can meet both", lo.value, up.value, up.path)
		}
	}
}

func (d ExperimentSpec) validateReward(errs *FieldErrors, metrics map[string]MetricSpec, kindKnown bool) {
	rpath := Field(specPath, "reward")
	if d.Reward == nil {
		if d.Kind == KindAB || d.Kind == KindABN {
			errs.Add(rpath, "required for %s experiments: the metric that decides the winner", d.Kind)
		}
		return
	}
	if kindKnown && (d.Kind == KindCanary || d.Kind == KindPerformance) {
		errs.Add(rpath, "%s experiments have no reward; express requirements as objectives", d.Kind)
	}
	if d.Reward.Metric == "" {
		errs.Add(Field(rpath, "metric"), "required")
	} else if _, ok := metrics[d.Reward.Metric]; !ok {
		errs.Add(Field(rpath, "metric"), "unknown metric %s", Quote(d.Reward.Metric, MaxEcho))
	}
	if d.Reward.Direction != DirectionMaximize && d.Reward.Direction != DirectionMinimize {
		errs.Add(Field(rpath, "direction"), "must be %q or %q, got %s", DirectionMaximize, DirectionMinimize, Quote(d.Reward.Direction, MaxEcho))
	}
}

func (d ExperimentSpec) validateTraffic(errs *FieldErrors) {
	tpath := Field(specPath, "traffic")
	allowed := map[string][]string{
		KindCanary:      {StrategyProgressive, StrategyFixed},
		KindAB:          {StrategyBandit, StrategyEarn, StrategyFixed},
		KindABN:         {StrategyBandit, StrategyEarn, StrategyFixed},
		KindPerformance: {StrategyFixed},
	}[d.Kind]
	switch d.Traffic.Strategy {
	case StrategyBandit, StrategyEarn, StrategyProgressive, StrategyFixed:
		if !slices.Contains(allowed, d.Traffic.Strategy) {
			errs.Add(Field(tpath, "strategy"), "%s experiments take %s, got %q", d.Kind, strings.Join(allowed, " or "), d.Traffic.Strategy)
		}
	default:
		errs.Add(Field(tpath, "strategy"), "unknown strategy %s; want bandit, earn, progressive or fixed", Quote(d.Traffic.Strategy, MaxEcho))
	}
	initial, maxPct, inc := d.Traffic.InitialCandidatePercent, d.Traffic.MaxCandidatePercent, d.Traffic.MaxIncrement
	if d.Kind == KindPerformance {
		for _, f := range []struct {
			name string
			v    *int
		}{{"initialCandidatePercent", initial}, {"maxCandidatePercent", maxPct}, {"maxIncrement", inc}} {
			if f.v != nil {
				errs.Add(Field(tpath, f.name), "performance experiments never move traffic")
			}
		}
		return
	}
	initialOK := true
	if initial != nil {
		lo, hi := 1, 100
		if d.Kind != KindCanary {
			// The baseline keeps some traffic: the bandit and relative
			// objectives compare with it.
			hi = 99
		}
		if *initial < lo || *initial > hi {
			errs.Add(Field(tpath, "initialCandidatePercent"), "must be in [%d, %d], got %d", lo, hi, *initial)
			initialOK = false
		}
	}
	maxOK := maxPct != nil
	if maxPct != nil && (*maxPct < 1 || *maxPct > 100) {
		errs.Add(Field(tpath, "maxCandidatePercent"), "must be in [1, 100], got %d", *maxPct)
		maxOK = false
	}
	if inc != nil && (*inc < 1 || *inc > 100) {
		errs.Add(Field(tpath, "maxIncrement"), "must be in [1, 100], got %d", *inc)
	}
	if !maxOK || !initialOK || len(d.Candidates) == 0 {
		return
	}
	if initial != nil {
		share := ceilDiv(*initial, len(d.Candidates))
		if share > *maxPct {
			errs.Add(Field(tpath, "initialCandidatePercent"), "gives a candidate %d%%, above maxCandidatePercent %d", share, *maxPct)
		}
		return
	}
	if share := ceilDiv(100, len(d.Candidates)+1); share > *maxPct {
		errs.Add(Field(tpath, "maxCandidatePercent"), "%d is below the initial equal split of %d%% per version; set initialCandidatePercent", *maxPct, share)
	}
}

func (d ExperimentSpec) validateLimits(errs *FieldErrors, kindKnown bool) {
	lpath := Field(specPath, "limits")
	if d.Limits.MaxDuration != nil && d.Limits.MaxDuration.Duration <= 0 {
		errs.Add(Field(lpath, "maxDuration"), "must be > 0, got %s", d.Limits.MaxDuration.Duration)
	}
	maxOK, minOK := true, true
	if d.Limits.MaxSamples < 1 {
		errs.Add(Field(lpath, "maxSamples"), "must be >= 1, got %d", d.Limits.MaxSamples)
		maxOK = false
	}
	if d.Limits.MinSamples < 1 {
		errs.Add(Field(lpath, "minSamples"), "must be >= 1, got %d", d.Limits.MinSamples)
		minOK = false
	}
	if !maxOK || !minOK || !kindKnown {
		return
	}
	// Every version that competes must reach minSamples before a decision;
	// a canary decides on its candidate alone, a performance test on its
	// only version.
	competing := int64(1)
	if d.Kind == KindAB || d.Kind == KindABN {
		competing = int64(1 + len(d.Candidates))
	}
	if d.Limits.MinSamples > d.Limits.MaxSamples/competing {
		errs.Add(Field(lpath, "maxSamples"), "%d samples cannot give each of %d versions minSamples %d: no decision could ever be made",
			d.Limits.MaxSamples, competing, d.Limits.MinSamples)
	}
}

// isDNSLabel holds for revision names, which Knative makes DNS-1123
// labels, and for metric names, which follow the same rule so that they
// can become label values and annotation keys unchanged.
func isDNSLabel(s string) bool { return CheckLabel(s) == nil }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// validateRange checks a mean metric's declared min and max: finite, and
// min < max once defaults are applied.
func validateRange(p string, m MetricSpec, errs *FieldErrors) {
	for _, f := range []struct {
		name string
		v    *float64
	}{{"min", m.Min}, {"max", m.Max}} {
		if f.v != nil && (math.IsNaN(*f.v) || math.IsInf(*f.v, 0)) {
			errs.Add(Field(p, f.name), "must be finite, got %v", *f.v)
			return
		}
	}
	if lo, hi := m.Range(); !(hi > lo) {
		errs.Add(Field(p, "max"), "must be above min %v, got %v: every value of %q lies in [min, max]", lo, hi, m.Name)
	}
}
