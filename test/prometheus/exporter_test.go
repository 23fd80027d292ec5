package prometheus

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	promclient "github.com/prometheus/client_golang/prometheus"
)

// TestQueueProxyOTel checks the OTel layout's labels: the revision and
// namespace (and the Service when given) only on target_info, the status
// code on the histogram.
func TestQueueProxyOTel(t *testing.T) {
	for _, tc := range []struct {
		name, service string
		wantInfo      map[string]string
	}{
		{name: "without the Service", wantInfo: map[string]string{"k8s_container_name": "queue-proxy", "k8s_namespace_name": "ns", "kn_revision_name": "shop-v1"}},
		{name: "with the Service", service: "shop",
			wantInfo: map[string]string{"k8s_container_name": "queue-proxy", "k8s_namespace_name": "ns", "kn_revision_name": "shop-v1", "kn_service_name": "shop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := promclient.NewRegistry()
			QueueProxyOTel(reg, "ns", tc.service, "shop-v1").WithLabelValues("200").Observe(0.02)
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]string{}
			for _, mf := range mfs {
				labels := map[string]string{}
				for _, l := range mf.GetMetric()[0].GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				got[mf.GetName()] = labels
			}
			want := map[string]map[string]string{
				"target_info": tc.wantInfo,
				"kn_serving_invocation_duration_seconds": {"http_response_status_code": "200",
					"otel_scope_name": "knative.dev/serving/pkg/queue", "otel_scope_schema_url": "", "otel_scope_version": ""},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}
