package simulate

import (
	"fmt"
	"time"

	"github.com/iter8-knative/iter8/events"
)

// Generator draws windows of live traffic from a scenario's truth for a
// split chosen elsewhere: the end-to-end stack and the demo read the split
// from a real Route and use it as their traffic simulator.
type Generator struct {
	sm *sampler
}

// NewGenerator returns a seeded Generator for the scenario's versions.
func NewGenerator(s Scenario, seed uint64) (*Generator, error) {
	spec := s.Experiment.Defaulted()
	for _, v := range spec.Versions() {
		if _, ok := s.Truth[v]; !ok {
			return nil, fmt.Errorf("scenario %s: no truth for version %q", s.Name, v)
		}
	}
	return &Generator{sm: newSampler(s, spec, seed)}, nil
}

// Window draws n requests split by percent per version (versions missing
// from split get none) and returns their aggregates as one window.
func (g *Generator) Window(start, end time.Time, n int64, split map[string]int) events.MetricsObserved {
	percent := make([]int, len(g.sm.versions))
	for i, v := range g.sm.versions {
		percent[i] = split[v]
	}
	return g.sm.window(g.sm.split(n, percent), start, end)
}
