package commands

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
)

const loadSpecYAML = `# a staging performance test with iter8's own load
kind: performance
baseline: fresh-v1
metrics:
  - {name: errors, type: ratio}
  - {name: latency-p95, type: quantile, quantile: 0.95, unit: ms}
objectives:
  - {metric: errors, upperLimit: 0.01}
  - {metric: latency-p95, upperLimit: 250}
load:
  rate: 50
  concurrency: 16
  duration: 10s
  method: POST
  target: /api/cart
  headers: {Content-Type: application/json}
  body: '{"sku": "A-1"}'
  warmUp: 5s
`

// TestStartAcceptsALoadBlock checks that `kn iter8 start` sends a load
// block as written, and refuses a bad one naming its field.
func TestStartAcceptsALoadBlock(t *testing.T) {
	s := newSink(t, http.StatusOK)
	s.reply = events.TypeExperimentStarted
	h := newHarness(t, freshService())
	if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", loadSpecYAML), "--sink", s.URL); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	got := s.events()
	if len(got) != 1 {
		t.Fatalf("sink received %d events, want 1", len(got))
	}
	spec, err := events.DecodeExperimentStart(got[0])
	if err != nil {
		t.Fatalf("the function would refuse the event: %v", err)
	}
	want := &events.LoadSpec{Target: "/api/cart", Rate: 50, Concurrency: 16, Duration: &events.Duration{Duration: 10 * time.Second},
		Method: "POST", Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"sku": "A-1"}`, WarmUp: &events.Duration{Duration: 5 * time.Second}}
	if diff := cmp.Diff(want, spec.Load); diff != "" {
		t.Errorf("sent load block (-want +got):\n%s", diff)
	}

	bad := strings.Replace(loadSpecYAML, "rate: 50", "rate: -5", 1)
	s = newSink(t, http.StatusOK)
	h = newHarness(t, freshService())
	if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", bad), "--sink", s.URL); code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(h.stderr.String(), "spec.load.rate: must be in (0, 10000] requests per second, got -5") || len(s.events()) != 0 {
		t.Errorf("stderr lacks the field error, or an event was sent:\n%s", h.stderr)
	}
}
