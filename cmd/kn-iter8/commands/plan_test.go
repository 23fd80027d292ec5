package commands

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/iter8-knative/iter8/pkg/plan"
)

func TestPlanTableAndJSON(t *testing.T) {
	spec := writeFile(t, "e.yaml", validSpec)
	h := newHarness(t, freshService())
	if code := h.run("plan", "fresh", "-f", spec, "--rate", "50", "--baseline", "errors=0.002", "--seed", "2"); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	for _, want := range []string{"Plan:      canary experiment, fresh-v1 vs fresh-v2, 50.0 requests/s", "In time:", "IF BAD", "fresh-v2  errors  0.0150  0.0100"} {
		if !strings.Contains(h.stdout.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, h.stdout)
		}
	}
	h = newHarness(t, freshService())
	if code := h.run("plan", "fresh", "-f", spec, "--rate", "50", "--baseline", "errors=0.002", "--seed", "2", "-o", "json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	var p plan.Plan
	if err := json.Unmarshal(h.stdout.Bytes(), &p); err != nil {
		t.Fatalf("-o json: %v\n%s", err, h.stdout)
	}
	if p.Kind != "canary" || p.Rate != 50 || p.Runs < plan.MinRuns || len(p.Bad) != 1 || p.Assumed["fresh-v1"]["errors"] != 0.002 {
		t.Errorf("-o json: %+v", p)
	}
}

func TestPlanUsageErrors(t *testing.T) {
	spec := writeFile(t, "e.yaml", validSpec)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no rate", []string{"plan", "fresh", "-f", spec, "--baseline", "errors=0.002"}, exitUsage, "no request rate: pass --rate"},
		{"no baseline value", []string{"plan", "fresh", "-f", spec, "--rate", "5"}, exitError, "no value for the baseline's [errors]"},
		{"bad value", []string{"plan", "fresh", "-f", spec, "--rate", "5", "--value", "fresh-v2=1"}, exitUsage, "want VERSION.METRIC=VALUE"},
		{"not a number", []string{"plan", "fresh", "-f", spec, "--rate", "5", "--baseline", "errors=x"}, exitUsage, "--baseline errors=x: not a finite number"},
		{"no spec", []string{"plan", "fresh"}, exitUsage, "requires the experiment spec"},
		{"yaml output", []string{"plan", "fresh", "-f", spec, "-o", "yaml"}, exitUsage, `unknown output format "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, freshService())
			if code := h.run(tt.args...); code != tt.code || !strings.Contains(h.stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q", code, h.stderr, tt.code, tt.stderr)
			}
		})
	}
}

// start --plan prints the plan, and only then sends the start event.
func TestStartPrintsThePlanFirst(t *testing.T) {
	s := newSink(t, http.StatusOK)
	h := newHarness(t, freshService())
	code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--sink", s.URL, "--plan", "--rate", "50", "--baseline", "errors=0.002")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	out := h.stdout.String()
	if p, sent := strings.Index(out, "In time:"), strings.Index(out, "Sent "); p < 0 || sent < p || len(s.events()) != 1 {
		t.Errorf("want the plan, then the event sent; %d events, stdout:\n%s", len(s.events()), out)
	}
	h = newHarness(t, freshService())
	if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--sink", s.URL, "--plan"); code != exitUsage || len(s.events()) != 1 {
		t.Errorf("start --plan without a rate: exit %d, %d events; want a usage error and nothing sent", code, len(s.events()))
	}
}
