package events

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"
)

// ParseSpec reads an ExperimentSpec from YAML or JSON (JSON is YAML), as a
// user writes it for kn-iter8 or a scenario file. It refuses what the
// functions refuse in an experiment.start event's data, by the same
// check (decodeStrict): unknown fields and fields that differ from the
// contract's only in case (a misspelt "maxIncrment: 5" silently taking
// its default would run a different experiment than the one intended),
// null values and values of the wrong type, each named by its path
// ("spec.reward.preference: unknown field"); and duplicate keys, by
// line. Then it validates the spec. The spec is returned as written, not
// Defaulted, so that what is sent is what the user wrote.
func ParseSpec(b []byte) (ExperimentSpec, error) {
	// Strict: a key set twice is an error, not the last one silently.
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		return ExperimentSpec{}, fmt.Errorf("parse experiment spec: %w", err)
	}
	if string(bytes.TrimSpace(j)) == "null" {
		// An empty document (or a lone "null"): decodeStrict would call
		// it a null value, which is not what the user did.
		var errs FieldErrors
		errs.Add(specPath, "required: the document is empty")
		return ExperimentSpec{}, fmt.Errorf("invalid experiment spec: %w", errs)
	}
	var s ExperimentSpec
	if err := decodeStrict(j, specPath, &s); err != nil {
		return ExperimentSpec{}, fmt.Errorf("invalid experiment spec: %w", err)
	}
	if err := s.Validate(); err != nil {
		return ExperimentSpec{}, fmt.Errorf("invalid experiment spec: %w", err)
	}
	return s, nil
}
