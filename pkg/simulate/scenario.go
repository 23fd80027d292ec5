package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/iter8-knative/iter8/events"
)

// Outcomes a run can end with besides a version name (the contract's
// "Outcomes").
const (
	OutcomeRollback     = "rollback"
	OutcomeInconclusive = "inconclusive"
	OutcomePass         = "pass"
	OutcomeFail         = "fail"
)

// Caps keep a mistyped scenario from running for hours.
const (
	MaxRequestsPerInterval = 10_000_000
	MaxIntervals           = 100_000
)

// Scenario is one scenario file.
type Scenario struct {
	Name string `json:"name"`
	// Experiment is the spec as written, validated by events.ParseSpec.
	Experiment events.ExperimentSpec `json:"-"`
	// Truth maps version -> metric -> the distribution one request draws
	// that metric's value from.
	Truth   map[string]map[string]Dist `json:"truth"`
	Traffic Traffic                    `json:"traffic"`
	Expect  []string                   `json:"expect"`
}

// Traffic is the scenario's load.
type Traffic struct {
	RequestsPerInterval int64 `json:"requestsPerInterval"`
	MaxIntervals        int   `json:"maxIntervals"`
}

// Dist is one distribution; exactly one field is set.
type Dist struct {
	Bernoulli   *float64     `json:"bernoulli,omitempty"`
	Normal      *NormalDist  `json:"normal,omitempty"`
	LogNormal   *LogNormal   `json:"lognormal,omitempty"`
	Exponential *Exponential `json:"exponential,omitempty"`
}

// NormalDist is normal{mean, sd}.
type NormalDist struct {
	Mean *float64 `json:"mean"`
	SD   *float64 `json:"sd"`
}

// LogNormal is lognormal{mu, sigma}, the parameters of the log.
type LogNormal struct {
	Mu    *float64 `json:"mu"`
	Sigma *float64 `json:"sigma"`
}

// Exponential is exponential{mean}.
type Exponential struct {
	Mean *float64 `json:"mean"`
}

// scenarioFile is the file's shape: the experiment stays raw so that
// events.ParseSpec applies the same strict parsing and validation a start
// event gets.
type scenarioFile struct {
	Name       string                     `json:"name"`
	Experiment json.RawMessage            `json:"experiment"`
	Truth      map[string]map[string]Dist `json:"truth"`
	Traffic    Traffic                    `json:"traffic"`
	Expect     []string                   `json:"expect"`
}

// LoadScenario reads and parses a scenario file.
func LoadScenario(path string) (Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("read scenario: %w", err)
	}
	s, err := ParseScenario(b)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", path, err)
	}
	return s, nil
}

// ParseScenario parses a scenario from YAML (or JSON). It is strict: an
// unknown or duplicate field is an error, since a misspelt field silently
// ignored would benchmark a different scenario than the one written.
func ParseScenario(b []byte) (Scenario, error) {
	var f scenarioFile
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return Scenario{}, fmt.Errorf("parse scenario: %w", err)
	}
	if len(f.Experiment) == 0 || string(f.Experiment) == "null" {
		return Scenario{}, errors.New("parse scenario: experiment: required")
	}
	spec, err := events.ParseSpec(f.Experiment)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario %q: experiment: %w", f.Name, err)
	}
	s := Scenario{Name: f.Name, Experiment: spec, Truth: f.Truth, Traffic: f.Traffic, Expect: f.Expect}
	if err := s.validate(); err != nil {
		return Scenario{}, fmt.Errorf("scenario %q: %w", f.Name, err)
	}
	return s, nil
}

// validate checks what events.ParseSpec cannot: that the truth covers the
// experiment exactly, that each distribution fits its metric, and that the
// expected outcomes are ones the kind can reach.
func (s Scenario) validate() error {
	var errs events.FieldErrors
	if s.Name == "" {
		errs.Add("name", "required")
	}
	spec := s.Experiment
	versions := spec.Versions()
	for _, v := range slices.Sorted(maps.Keys(s.Truth)) {
		if !slices.Contains(versions, v) {
			errs.Add(events.Key("truth", v), "unknown version %q; the experiment's versions are %v", v, versions)
		}
	}
	for _, v := range versions {
		path := events.Key("truth", v)
		metrics, ok := s.Truth[v]
		if !ok {
			errs.Add(path, "required: every version of the experiment needs its true distributions")
			continue
		}
		for _, m := range slices.Sorted(maps.Keys(metrics)) {
			if !slices.ContainsFunc(spec.Metrics, func(ms events.MetricSpec) bool { return ms.Name == m }) {
				errs.Add(events.Key(path, m), "unknown metric %q", m)
			}
		}
		for _, ms := range spec.Metrics {
			d, ok := metrics[ms.Name]
			if !ok {
				errs.Add(events.Key(path, ms.Name), "required: every metric of the experiment needs a distribution")
				continue
			}
			d.validate(events.Key(path, ms.Name), ms, &errs)
		}
	}
	if s.Traffic.RequestsPerInterval < 1 || s.Traffic.RequestsPerInterval > MaxRequestsPerInterval {
		errs.Add("traffic.requestsPerInterval", "must be in [1, %d], got %d", MaxRequestsPerInterval, s.Traffic.RequestsPerInterval)
	}
	if s.Traffic.MaxIntervals < 1 || s.Traffic.MaxIntervals > MaxIntervals {
		errs.Add("traffic.maxIntervals", "must be in [1, %d], got %d", MaxIntervals, s.Traffic.MaxIntervals)
	}
	if len(s.Expect) == 0 {
		errs.Add("expect", "required: list every acceptable outcome")
	}
	possible := PossibleOutcomes(spec)
	for i, o := range s.Expect {
		switch {
		case !slices.Contains(possible, o):
			errs.Add(events.Index("expect", i), "%q is not an outcome of a %s experiment; want one of %v", o, spec.Kind, possible)
		case slices.Index(s.Expect, o) < i:
			errs.Add(events.Index("expect", i), "duplicate outcome %q", o)
		}
	}
	return errs.Err()
}

func (d Dist) validate(path string, m events.MetricSpec, errs *events.FieldErrors) {
	set := 0
	for _, b := range []bool{d.Bernoulli != nil, d.Normal != nil, d.LogNormal != nil, d.Exponential != nil} {
		if b {
			set++
		}
	}
	if set != 1 {
		errs.Add(path, "set exactly one of bernoulli, normal, lognormal, exponential; got %d", set)
		return
	}
	finite := func(p string, v *float64, positive bool) {
		switch {
		case v == nil:
			errs.Add(p, "required")
		case math.IsNaN(*v) || math.IsInf(*v, 0):
			errs.Add(p, "must be finite, got %v", *v)
		case positive && !(*v > 0):
			errs.Add(p, "must be > 0, got %v", *v)
		}
	}
	switch {
	case d.Bernoulli != nil:
		if p := *d.Bernoulli; !(p >= 0 && p <= 1) {
			errs.Add(events.Field(path, "bernoulli"), "must be a probability in [0, 1], got %v", p)
		}
	case m.Type == events.MetricRatio:
		errs.Add(path, "metric %q is a ratio: its distribution must be bernoulli", m.Name)
	case d.Normal != nil:
		finite(events.Field(path, "normal.mean"), d.Normal.Mean, false)
		finite(events.Field(path, "normal.sd"), d.Normal.SD, true)
	case d.LogNormal != nil:
		finite(events.Field(path, "lognormal.mu"), d.LogNormal.Mu, false)
		finite(events.Field(path, "lognormal.sigma"), d.LogNormal.Sigma, true)
	case d.Exponential != nil:
		finite(events.Field(path, "exponential.mean"), d.Exponential.Mean, true)
	}
}

// PossibleOutcomes lists the outcomes a run of spec can end with: for ab
// and abn every version (a promoted baseline is named like any other) and
// rollback; for canary the candidate and rollback; for performance pass and
// fail; and inconclusive for all.
func PossibleOutcomes(spec events.ExperimentSpec) []string {
	switch spec.Kind {
	case events.KindPerformance:
		return []string{OutcomePass, OutcomeFail, OutcomeInconclusive}
	case events.KindCanary:
		return append(slices.Clone(spec.Candidates), OutcomeRollback, OutcomeInconclusive)
	}
	return append(spec.Versions(), OutcomeRollback, OutcomeInconclusive)
}
