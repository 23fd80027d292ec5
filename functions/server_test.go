package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	k8stesting "k8s.io/client-go/testing"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

const specJSON = `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
 "metrics":[{"name":"errors","type":"ratio"}],"objectives":[{"metric":"errors","upperLimit":0.01}]}`

func service(name string, optIn bool) *servingv1.Service {
	s := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{}}}
	if optIn {
		s.Labels[store.LabelEnabled] = "true"
	}
	return s
}

func revision(svc, name string) *servingv1.Revision {
	return &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
		Labels: map[string]string{"serving.knative.dev/service": svc}}}
}

// fixture serves the functions over a fake clientset with a shop Service
// (opted in, two revisions, a running experiment) and a legacy Service
// (not opted in).
func fixture(t *testing.T, react func(*fake.Clientset)) string {
	t.Helper()
	cs := fake.NewSimpleClientset(service("shop", true), service("legacy", false),
		revision("shop", "shop-v1"), revision("shop", "shop-v2"), service("idle", true))
	if react != nil {
		react(cs)
	}
	st := store.New(cs.ServingV1(), store.WithBackoff(wait.Backoff{Steps: 3, Duration: time.Millisecond}))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := New(st, WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	handler, err := NewServer(h, st).Handler(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	if react == nil {
		if code, body := send(t, srv.URL, binary(events.TypeExperimentStart, "default/shop", specJSON)); code != 200 {
			t.Fatalf("fixture start: %d %s", code, body)
		}
	}
	return srv.URL
}

type request struct {
	headers map[string]string
	body    string
}

func binary(typ, subject, data string) request {
	return request{headers: map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": "id-" + typ + subject, "Ce-Source": "/test", "Ce-Type": typ,
		"Ce-Subject": subject, "Content-Type": "application/json",
	}, body: data}
}

func send(t *testing.T, url string, r request) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(r.body))
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func window(versions string) string {
	return `{"window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:01:00Z"},"versions":` + versions + `}`
}

// TestErrorCodes is the error-code table of docs/events.md: each bad input
// gets its documented status (4xx never retried by Knative, 5xx and 429
// retried) and a message naming what was wrong.
func TestErrorCodes(t *testing.T) {
	unavailable := func(cs *fake.Clientset) {
		cs.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewServiceUnavailable("etcd is down")
		})
	}
	conflicting := func(cs *fake.Clientset) {
		cs.PrependReactor("update", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "services"}, "shop", errors.New("stale"))
		})
	}
	big := `{"action":"pause","reason":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	cases := []struct {
		name   string
		react  func(*fake.Clientset)
		req    request
		status int
		says   string
	}{
		{name: "structured mode, broken JSON", req: request{headers: map[string]string{"Content-Type": "application/cloudevents+json"}, body: `{"specversion":"1.0",`},
			status: 400, says: "JSON"},
		{name: "missing id", req: func() request {
			r := binary(events.TypeExperimentControl, "default/shop", `{"action":"pause"}`)
			delete(r.headers, "Ce-Id")
			return r
		}(), status: 400, says: "Ce-Id: required"},
		{name: "unknown type", req: binary("com.example.other", "default/shop", `{}`), status: 400, says: "com.example.other"},
		{name: "bad subject", req: binary(events.TypeExperimentControl, "shop", `{"action":"pause"}`), status: 400, says: "subject"},
		{name: "invalid spec", req: binary(events.TypeExperimentStart, "default/idle", `{"kind":"canary","baseline":"a","candidates":["b"],"metrics":[{"name":"e","type":"ratio"}],"confidence":1.5}`),
			status: 400, says: "spec.confidence"},
		{name: "unknown field in spec", req: binary(events.TypeExperimentStart, "default/idle", `{"kind":"canary","colour":"red"}`), status: 400, says: "colour"},
		{name: "unknown service", req: binary(events.TypeExperimentStart, "default/nope", specJSON), status: 422, says: "default/nope"},
		{name: "not opted in", req: binary(events.TypeExperimentStart, "default/legacy", specJSON), status: 403, says: "iter8.dev/enabled=true"},
		{name: "second start", req: func() request {
			r := binary(events.TypeExperimentStart, "default/shop", specJSON)
			r.headers["Ce-Id"] = "another"
			return r
		}(), status: 422, says: "already"},
		{name: "no experiment", req: binary(events.TypeExperimentControl, "default/idle", `{"action":"pause"}`), status: 422, says: "no experiment"},
		{name: "negative count", req: binary(events.TypeMetricsObserved, "default/shop", window(`{"shop-v1":{"errors":{"successes":-1,"trials":10}}}`)),
			status: 400, says: `data.versions["shop-v1"]["errors"].successes`},
		{name: "successes over trials", req: binary(events.TypeMetricsObserved, "default/shop", window(`{"shop-v1":{"errors":{"successes":11,"trials":10}}}`)),
			status: 400, says: "trials"},
		{name: "unknown version", req: binary(events.TypeMetricsObserved, "default/shop", window(`{"shop-v9":{"errors":{"successes":1,"trials":10}}}`)),
			status: 400, says: "shop-v9"},
		{name: "unknown metric", req: binary(events.TypeMetricsObserved, "default/shop", window(`{"shop-v1":{"joy":{"successes":1,"trials":10}}}`)),
			status: 400, says: "joy"},
		{name: "overflowing count", req: binary(events.TypeMetricsObserved, "default/shop", window(`{"shop-v1":{"errors":{"successes":1,"trials":1e30}}}`)),
			status: 400, says: "trials"},
		{name: "unknown action", req: binary(events.TypeExperimentControl, "default/shop", `{"action":"explode"}`), status: 400, says: "action"},
		{name: "promote unknown version", req: binary(events.TypeExperimentControl, "default/shop", `{"action":"promote","version":"shop-v9"}`), status: 400, says: "shop-v9"},
		{name: "collect without tick", req: binary(events.TypeExperimentCollect, "default/shop", `{"experiment":"0123456789ab"}`), status: 400, says: "data.tick"},
		{name: "collect, experiment not a label", req: binary(events.TypeExperimentCollect, "default/shop", `{"experiment":"A/../b","tick":"2026-01-01T00:00:00Z"}`),
			status: 400, says: "data.experiment"},
		{name: "collect, tick past year 9999", req: binary(events.TypeExperimentCollect, "default/shop", `{"experiment":"ab","tick":"9999-12-31T23:59:59-23:59"}`),
			status: 400, says: "data.tick"},
		{name: "collect, not opted in", req: binary(events.TypeExperimentCollect, "default/legacy", `{"experiment":"ab","tick":"2026-01-01T00:00:00Z"}`),
			status: 403, says: "iter8.dev/enabled=true"},
		{name: "collect, unknown service", req: binary(events.TypeExperimentCollect, "default/nope", `{"experiment":"ab","tick":"2026-01-01T00:00:00Z"}`),
			status: 422, says: "default/nope"},
		{name: "collect, API server unavailable", react: unavailable, req: binary(events.TypeExperimentCollect, "default/shop", `{"experiment":"ab","tick":"2026-01-01T00:00:00Z"}`),
			status: 503, says: "default/shop"},
		{name: "too large", req: binary(events.TypeExperimentControl, "default/shop", big), status: 413, says: "bytes"},
		{name: "API server unavailable", react: unavailable, req: binary(events.TypeExperimentControl, "default/shop", `{"action":"pause"}`), status: 503, says: "default/shop"},
		{name: "conflicts exhausted", react: conflicting, req: binary(events.TypeExperimentStart, "default/shop", specJSON), status: 429, says: "conflicting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := fixture(t, tc.react)
			status, body := send(t, url, tc.req)
			if status != tc.status {
				t.Fatalf("status %d, want %d; body %s", status, tc.status, body)
			}
			if events.Retried(status) != (status >= 500 || status == 429) {
				t.Fatalf("status %d: retry class mismatch", status)
			}
			var reply struct {
				Error  string `json:"error"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal([]byte(body), &reply); err != nil || reply.Status != status {
				t.Fatalf("body %q is not the JSON refusal of status %d: %v", body, status, err)
			}
			if !strings.Contains(reply.Error, tc.says) {
				t.Errorf("error %q does not name %q", reply.Error, tc.says)
			}
			if len(body) > events.MaxErrorReplyBytes {
				t.Errorf("reply of %d bytes, over the cap of %d", len(body), events.MaxErrorReplyBytes)
			}
		})
	}
}

// TestHealthAndMetrics checks the operability endpoints.
func TestHealthAndMetrics(t *testing.T) {
	url := fixture(t, nil)
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
		if path == "/metrics" && !bytes.Contains(b, []byte(`iter8_events_total{outcome="ok",type="dev.iter8.experiment.start"} 1`)) {
			t.Errorf("/metrics lacks the start counted by the fixture:\n%s", b)
		}
	}
}
