package events

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestParseSpec(t *testing.T) {
	yamlSpec := `
kind: canary
baseline: v1
candidates: [v2]
metrics:
  - {name: errors, type: ratio}
objectives:
  - {metric: errors, upperLimit: 0.01}
limits: {maxDuration: 90m}
`
	want := ExperimentSpec{
		Kind: KindCanary, Baseline: "v1", Candidates: []string{"v2"},
		Metrics:    []MetricSpec{{Name: "errors", Type: MetricRatio}},
		Objectives: []Objective{{Metric: "errors", UpperLimit: specRef(0.01)}},
		Limits:     Limits{MaxDuration: &Duration{90 * time.Minute}},
	}
	jsonSpec := `{"kind":"canary","baseline":"v1","candidates":["v2"],
		"metrics":[{"name":"errors","type":"ratio"}],
		"objectives":[{"metric":"errors","upperLimit":0.01}],"limits":{"maxDuration":"90m"}}`
	for name, in := range map[string]string{"yaml": yamlSpec, "json": jsonSpec} {
		t.Run(name, func(t *testing.T) {
			got, err := ParseSpec([]byte(in))
			if err != nil {
				t.Fatalf("ParseSpec() error: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseSpec() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSpecRejects(t *testing.T) {
	tests := []struct{ name, in, wantSubstr string }{
		{"unknown field", "kind: canary\nbaseline: v1\nmaxIncrment: 5\n", `spec.maxIncrment: unknown field`},
		{"misspelt nested field", "kind: canary\ntraffic: {maxIncrment: 5}\n", `spec.traffic.maxIncrment: unknown field (did you mean "maxIncrement"?)`},
		{"unknown nested field", "kind: abn\nreward: {metric: c, preference: higher}\n", `spec.reward.preference: unknown field`},
		{"field in another case", "Kind: canary\n", `spec.Kind: unknown field (did you mean "kind"?)`},
		{"duplicate field", "kind: canary\nkind: ab\n", `line 2: key "kind" already set`},
		{"duplicate nested field", "kind: canary\ntraffic:\n  maxIncrement: 5\n  maxIncrement: 6\n", `line 4: key "maxIncrement" already set`},
		{"bad duration", "kind: canary\nlimits: {maxDuration: 2 hours}\n", `spec.limits.maxDuration: duration: time: unknown unit " hours"`},
		{"wrong type", "kind: canary\nobjectives: [{metric: e, upperLimit: \"0.01\"}]\n", `spec.objectives[0].upperLimit: must be a number`},
		{"fraction for an integer", "kind: canary\ntraffic: {maxIncrement: 5.5}\n", `spec.traffic.maxIncrement: must be an integer`},
		{"null", "kind: canary\nbaseline: null\n", `spec.baseline`},
		{"empty", "", `spec: required`},
		{"invalid spec", "kind: canary\nbaseline: v1\ncandidates: [v2, v3]\nmetrics: [{name: e, type: ratio}]\nobjectives: [{metric: e, upperLimit: 0.1}]\n",
			`invalid experiment spec: spec.candidates: canary takes exactly one candidate, got 2`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.wantSubstr) {
				t.Errorf("ParseSpec() error = %v, want one containing %q", err, tc.wantSubstr)
			}
		})
	}
}

// TestParseSpecScenarios checks that the benchmark scenarios' specs, a
// public contract, stay valid: the repository's copy in test/scenarios.
func TestParseSpecScenarios(t *testing.T) {
	files, err := filepath.Glob("../test/scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios in ../test/scenarios: the repository's copy is missing")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var sc struct {
				Experiment json.RawMessage `json:"experiment"`
			}
			if err := yaml.Unmarshal(b, &sc); err != nil {
				t.Fatalf("read scenario: %v", err)
			}
			if _, err := ParseSpec(sc.Experiment); err != nil {
				t.Errorf("ParseSpec(%s experiment) error: %v", f, err)
			}
		})
	}
}
