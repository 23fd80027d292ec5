package commands

import (
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/store"
)

// withPast is the recorded Service file with raw as its past annotation.
func withPast(t *testing.T, file, raw string) runtime.Object {
	t.Helper()
	svc := loadService(t, file)
	svc.Annotations[store.AnnotationPast] = raw
	return svc
}

// pastOf is n valid past canaries.
func pastOf(n int) string {
	entries := make([]string, n)
	for i := range entries {
		entries[i] = fmt.Sprintf(`{"id":"c%d","outcome":"rolledBack","ended":"2025-03-0%dT10:00:00Z","ratios":{"errors":{"s":%d,"t":400}}}`, i, i+1, 3*i)
	}
	return "[" + strings.Join(entries, ",") + "]"
}

// TestDescribeShowsPastCanaries: describe, its -o json and the report say
// how many past canaries the Service remembers and what they are for, or
// why their annotation was ignored; neither is an error or a warning, and
// a Service without them shows no such line (the goldens). The report
// also computes the running canary's ETA with the past as its prior.
func TestDescribeShowsPastCanaries(t *testing.T) {
	const hostile = `[{"id":"c0","ended":"2025-03-01T10:00:00Z","ratios":{"errors":{"s":200,"t":100}}}]`
	for _, tc := range []struct {
		name, file string
		raw        string
		want       string // the line's text after the label
		count      int
	}{
		{name: "running canary", file: "shop", raw: pastOf(3), want: "3 (prior of the ETA)", count: 3},
		{name: "failed canary", file: "search", raw: pastOf(1), want: "1 (prior of the next canary's ETA)", count: 1},
		{name: "ignored", file: "shop", raw: hostile,
			want: "ignored: service default/shop: annotation iter8.dev/past: [0].ratios.errors: 200 successes in 100 trials"},
		{name: "not JSON", file: "search", raw: "[{",
			want: "ignored: service default/search: annotation iter8.dev/past: unexpected end of JSON input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := tc.file
			h := newHarness(t, []runtime.Object{withPast(t, tc.file, tc.raw)})
			if code := h.run("describe", svc, "--no-eta"); code != exitOK || h.stderr.Len() > 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, h.stderr)
			}
			line := regexp.MustCompile(`(?m)^Past canaries:\s+(.*)$`).FindStringSubmatch(h.stdout.String())
			if line == nil || line[1] != tc.want {
				t.Errorf("past line %q, want %q:\n%s", line, tc.want, h.stdout)
			}

			if code := h.run("describe", svc, "--no-eta", "-o", "json"); code != exitOK {
				t.Fatalf("json: exit %d: %s", code, h.stderr)
			}
			var d present.Description
			if err := json.Unmarshal(h.stdout.Bytes(), &d); err != nil {
				t.Fatal(err)
			}
			if d.PastCanaries != tc.count || d.PastText() != tc.want {
				t.Errorf("json: %d past canaries, ignored %q; want %d and the line %q", d.PastCanaries, d.PastIgnored, tc.count, tc.want)
			}

			if code := h.run("report", svc, "--output-file", "-"); code != exitOK {
				t.Fatalf("report: exit %d: %s", code, h.stderr)
			}
			if want := "<dt>Past canaries</dt><dd>" + template.HTMLEscapeString(tc.want) + "</dd>"; !strings.Contains(h.stdout.String(), want) {
				t.Errorf("the report lacks %q", want)
			}
		})
	}
}
