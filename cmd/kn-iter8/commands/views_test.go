package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/iter8-knative/iter8/pkg/present"
)

var allRecorded = []string{"shop", "frontend", "checkout", "search"}

func TestDescribeGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"describe-canary-running.golden", []string{"describe", "shop"}},
		{"describe-abn-running.golden", []string{"describe", "frontend", "-n", "shop"}},
		{"describe-ab-completed.golden", []string{"describe", "checkout", "--namespace", "shop"}},
		{"describe-canary-failed.golden", []string{"describe", "search"}},
		{"describe-canary-running.json.golden", []string{"describe", "shop", "-o", "json"}},
		{"describe-abn-running.yaml.golden", []string{"describe", "frontend", "-n", "shop", "-o", "yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			h := newHarness(t, recorded(t, allRecorded...))
			if code := h.run(tt.args...); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, h.stderr)
			}
			if h.stderr.Len() > 0 {
				t.Errorf("unexpected stderr:\n%s", h.stderr)
			}
			golden(t, tt.golden, h.stdout.Bytes())
		})
	}
}

// TestDescribeStructuredMatchesTable checks that -o json and -o yaml carry
// the same description, and that the numbers the table shows come from it.
func TestDescribeStructuredMatchesTable(t *testing.T) {
	h := newHarness(t, recorded(t, allRecorded...))
	var fromJSON, fromYAML present.Description
	if code := h.run("describe", "frontend", "-n", "shop", "-o", "json"); code != exitOK {
		t.Fatalf("json: exit %d: %s", code, h.stderr)
	}
	if err := json.Unmarshal(h.stdout.Bytes(), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if code := h.run("describe", "frontend", "-n", "shop", "-o", "yaml"); code != exitOK {
		t.Fatalf("yaml: exit %d: %s", code, h.stderr)
	}
	if err := yaml.Unmarshal(h.stdout.Bytes(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromJSON, fromYAML); diff != "" {
		t.Errorf("json and yaml differ (-json +yaml):\n%s", diff)
	}
	if code := h.run("describe", "frontend", "-n", "shop"); code != exitOK {
		t.Fatalf("table: exit %d: %s", code, h.stderr)
	}
	table := h.stdout.String()
	if len(fromJSON.Versions) != 3 {
		t.Fatalf("versions = %d, want 3", len(fromJSON.Versions))
	}
	for _, v := range fromJSON.Versions {
		for _, want := range []string{v.Version, present.Prob(v.ProbWin), present.Prob(v.ProbFeasible)} {
			if !strings.Contains(table, want) {
				t.Errorf("table lacks %q of %s", want, v.Version)
			}
		}
		for _, m := range v.Metrics {
			if m.Mean == nil {
				t.Errorf("%s %s: no posterior mean on a version with data", v.Version, m.Metric)
				continue
			}
			if iv := present.Interval(m.Lower, m.Upper); !strings.Contains(table, iv) {
				t.Errorf("table lacks the interval %s of %s %s", iv, v.Version, m.Metric)
			}
		}
	}
}

func TestListGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"list-all.golden", []string{"list", "-A"}},
		{"list-namespace.golden", []string{"list", "-n", "shop"}},
		{"list-default.golden", []string{"list"}},
		{"list-all.json.golden", []string{"list", "-A", "-o", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			h := newHarness(t, append(recorded(t, allRecorded...), baseService("default", "plain", []string{"plain-v1"})))
			if code := h.run(tt.args...); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, h.stderr)
			}
			golden(t, tt.golden, h.stdout.Bytes())
		})
	}
}

// TestListOrderAndFilter checks grouping by phase and the --phase filter
// through the label selector, whatever the goldens say.
func TestListOrderAndFilter(t *testing.T) {
	tests := []struct {
		args []string
		want []string // "namespace/service phase"
	}{
		{[]string{"list", "-A"}, []string{"default/shop Running", "shop/frontend Running", "shop/checkout Completed", "default/search Failed"}},
		{[]string{"list", "-A", "--phase", "completed,failed"}, []string{"shop/checkout Completed", "default/search Failed"}},
		{[]string{"list", "-A", "--phase", "Paused"}, nil},
		{[]string{"list"}, []string{"default/shop Running", "default/search Failed"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			h := newHarness(t, append(recorded(t, allRecorded...), baseService("default", "plain", []string{"plain-v1"})))
			if code := h.run(append(tt.args, "-o", "json")...); code != exitOK {
				t.Fatalf("exit %d: %s", code, h.stderr)
			}
			var rows []present.ListRow
			if err := json.Unmarshal(h.stdout.Bytes(), &rows); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r.Namespace+"/"+r.Service+" "+r.Phase)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReportGolden(t *testing.T) {
	tests := []struct{ golden, service, ns string }{
		{"report-canary-running.html.golden", "shop", "default"},
		{"report-abn-running.html.golden", "frontend", "shop"},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			h := newHarness(t, recorded(t, allRecorded...))
			out := filepath.Join(t.TempDir(), "report.html")
			if code := h.run("report", tt.service, "-n", tt.ns, "--output-file", out); code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, h.stderr)
			}
			if !strings.Contains(h.stdout.String(), out) {
				t.Errorf("stdout does not name the file: %s", h.stdout)
			}
			page, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, page)
		})
	}
}

// TestReportToStdout checks -o - and that the page written is the page
// the file would hold.
func TestReportToStdout(t *testing.T) {
	h := newHarness(t, recorded(t, allRecorded...))
	if code := h.run("report", "shop", "--output-file", "-"); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	if !strings.HasPrefix(h.stdout.String(), "<!DOCTYPE html>") {
		t.Errorf("stdout is not the page: %.80q", h.stdout.String())
	}
}
