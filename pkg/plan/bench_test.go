package plan

import (
	"testing"

	"github.com/iter8-knative/iter8/events"
)

// BenchmarkPlanREADMEABN plans README's abn spec (three versions, ratio
// metrics and a p95 latency, whose assessment draws Dirichlet samples) as
// `kn iter8 plan shop -f abn.yaml --rate 20 --baseline
// conversion=0.1,errors=0.002,latency-p95=120` does (seed 1), on one
// worker: its CPU time (docs/planning.md quotes it).
func BenchmarkPlanREADMEABN(b *testing.B) {
	spec, err := events.ParseSpec([]byte(`{"kind":"abn","baseline":"shop-v1","candidates":["shop-v2","shop-v3"],
	  "metrics":[{"name":"errors","type":"ratio"},{"name":"latency-p95","type":"quantile","quantile":0.95,"unit":"ms"},
	    {"name":"conversion","type":"ratio"}],
	  "objectives":[{"metric":"errors","upperLimit":0.01},{"metric":"latency-p95","upperLimit":250}],
	  "reward":{"metric":"conversion","direction":"maximize"},"confidence":0.95}`))
	if err != nil {
		b.Fatal(err)
	}
	a := Assumptions{Rate: 20, Values: map[string]map[string]float64{
		"shop-v1": {"conversion": 0.1, "errors": 0.002, "latency-p95": 120}}}
	for b.Loop() {
		if _, err := Make(spec, a, Options{Seed: 1, Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
