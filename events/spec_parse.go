package events

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// ParseSpec reads an ExperimentSpec from YAML or JSON (JSON is YAML), as a
// user writes it for kn-iter8 or a scenario file. It rejects unknown and
// duplicate fields, since a misspelt field silently taking its default
// (say "maxIncrment: 5") would run a different experiment than the one
// intended, and then validates the spec. The spec is returned as written,
// not Defaulted, so that what is sent is what the user wrote.
func ParseSpec(b []byte) (ExperimentSpec, error) {
	var s ExperimentSpec
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return ExperimentSpec{}, fmt.Errorf("parse experiment spec: %w", err)
	}
	if err := s.Validate(); err != nil {
		return ExperimentSpec{}, fmt.Errorf("invalid experiment spec: %w", err)
	}
	return s, nil
}
