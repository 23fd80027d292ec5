package commands

import (
	"net/http"
	"strings"
	"testing"

	"github.com/iter8-knative/iter8/events"
)

// TestStartWarnsOfUndecidableLimits: a p95 limit inside one of Knative's
// buckets is accepted and sent, with a warning naming the bucket and the
// limits the histogram can decide.
func TestStartWarnsOfUndecidableLimits(t *testing.T) {
	spec := validSpec + `  - metric: latency
    upperLimit: 120
`
	spec = strings.Replace(spec, "objectives:", `  - name: latency
    type: quantile
    quantile: 0.95
    unit: ms
objectives:`, 1)
	s := newSink(t, http.StatusOK)
	s.reply = events.TypeExperimentStarted
	h := newHarness(t, freshService())
	if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", spec), "--sink", s.URL); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	if len(s.events()) != 1 {
		t.Fatalf("sink received %d events, want the start", len(s.events()))
	}
	want := "Warning: latency ≤ 120 ms: inside bucket (100, 250]; decidable at 100 or 250"
	if !strings.Contains(h.stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, h.stderr)
	}
}
