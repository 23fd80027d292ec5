package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The PromQL here is what docs/metrics.md shows; change both together.
func TestLastValues(t *testing.T) {
	revs := []string{"checkout-00001", "checkout-00002"}
	tests := []struct {
		name   string
		names  Names
		metric string
		extra  string
		want   string
	}{
		{
			name: "otel joins target_info", names: KnativeOTel(), metric: KnativeOTel().Requests,
			want: `last_over_time(kn_serving_invocation_duration_seconds_count[600s]) * on (job, instance) group_left (kn_revision_name, k8s_namespace_name) ` +
				`target_info{k8s_namespace_name="shop",kn_revision_name=~"checkout-00001|checkout-00002"}`,
		},
		{
			name: "otel errors", names: KnativeOTel(), metric: KnativeOTel().Requests, extra: KnativeOTel().ErrorMatcher,
			want: `last_over_time(kn_serving_invocation_duration_seconds_count{http_response_status_code=~"5.."}[600s]) * on (job, instance) group_left (kn_revision_name, k8s_namespace_name) ` +
				`target_info{k8s_namespace_name="shop",kn_revision_name=~"checkout-00001|checkout-00002"}`,
		},
		{
			name: "labels on the series", names: KnativeOTelLabels(), metric: KnativeOTelLabels().LatencyBucket,
			want: `last_over_time(kn_serving_invocation_duration_seconds_bucket{k8s_namespace_name="shop",kn_revision_name=~"checkout-00001|checkout-00002"}[600s])`,
		},
		{
			name: "opencensus errors", names: KnativeOpenCensus(), metric: KnativeOpenCensus().Requests, extra: KnativeOpenCensus().ErrorMatcher,
			want: `last_over_time(revision_request_count{namespace_name="shop",revision_name=~"checkout-00001|checkout-00002",response_code_class="5xx"}[600s])`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.names.lastValues(tt.metric, tt.extra, "shop", revs, 10*time.Minute)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lastValues (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNamesValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Names)
		want   string // substring of the error; "" for none
	}{
		{"otel", func(*Names) {}, ""},
		{"metric name", func(n *Names) { n.Requests = "requests total" }, `Requests "requests total" is not a metric name`},
		{"label", func(n *Names) { n.RevisionLabel = "kn.revision.name" }, `RevisionLabel "kn.revision.name" is not a label name`},
		{"matcher", func(n *Names) { n.ErrorMatcher = `code=~"5.." or vector(1)` }, "ErrorMatcher"},
		{"unit", func(n *Names) { n.LatencyUnit = "min" }, `LatencyUnit "min"`},
		{"join without labels", func(n *Names) { n.JoinLabels = nil }, "JoinLabels: required with Info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := KnativeOTel()
			tt.change(&n)
			err := n.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	for name, p := range Presets {
		if err := p().Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
}

func TestLatencyScale(t *testing.T) {
	tests := []struct {
		source, metric string
		want           float64
		wantErr        bool
	}{
		{"s", "", 1, false},
		{"s", "s", 1, false},
		{"s", "ms", 1000, false},
		{"ms", "s", 0.001, false},
		{"ms", "us", 1000, false},
		{"s", "minutes", 0, true},
	}
	for _, tt := range tests {
		got, err := latencyScale(tt.source, tt.metric)
		if (err != nil) != tt.wantErr {
			t.Errorf("latencyScale(%q, %q) error = %v, want error %v", tt.source, tt.metric, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !sameBound(got, tt.want) {
			t.Errorf("latencyScale(%q, %q) = %v, want %v", tt.source, tt.metric, got, tt.want)
		}
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute:                "60s",
		1500 * time.Millisecond:    "1500ms",
		time.Hour:                  "3600s",
		1234567 * time.Microsecond: "1235ms",
	} {
		if got := promDuration(d); got != want {
			t.Errorf("promDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
