package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// rawRequest is one HTTP request as a hostile or careless sender makes it.
type rawRequest struct {
	method  string
	headers map[string]string
	body    []byte
	// chunked hides the body's length, so that only reading it can tell
	// its size.
	chunked bool
}

// binaryMode is a well-formed binary-mode request, to be spoilt.
func binaryMode(typ, subject, data string) rawRequest {
	return rawRequest{method: http.MethodPost, body: []byte(data), headers: map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": "hostile-" + fmt.Sprint(time.Now().UnixNano()), "Ce-Source": "/iter8/hostile",
		"Ce-Type": typ, "Ce-Subject": subject, "Content-Type": "application/json",
	}}
}

func (r rawRequest) without(header string) rawRequest {
	h := map[string]string{}
	for k, v := range r.headers {
		if k != header {
			h[k] = v
		}
	}
	r.headers = h
	return r
}

func (r rawRequest) with(header, value string) rawRequest {
	h := map[string]string{header: value}
	for k, v := range r.headers {
		if k != header {
			h[k] = v
		}
	}
	r.headers = h
	return r
}

func (r rawRequest) send(t *testing.T, url string) (int, string) {
	t.Helper()
	var body io.Reader = bytes.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(bytes.NewReader(r.body)) // no Len: sent chunked
	}
	req, err := http.NewRequest(r.method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// structuredMode is a well-formed structured-mode control event (pause) for
// subject, with members changed (raw JSON values; "-" drops one), to be
// spoilt.
func structuredMode(subject string, change map[string]string) rawRequest {
	ms := map[string]string{"specversion": `"1.0"`, "id": fmt.Sprintf(`"hostile-%d"`, time.Now().UnixNano()), "source": `"/iter8/hostile"`,
		"type": `"` + events.TypeExperimentControl + `"`, "subject": fmt.Sprintf("%q", subject), "data": `{"action":"pause"}`}
	for k, v := range change {
		if v == "-" {
			delete(ms, k)
		} else {
			ms[k] = v
		}
	}
	keys := make([]string, 0, len(ms))
	for k := range ms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%q:%s", k, ms[k]))
	}
	return rawRequest{method: http.MethodPost, body: []byte("{" + strings.Join(parts, ",") + "}"),
		headers: map[string]string{"Content-Type": events.ContentTypeStructured}}
}

// refusal is the JSON body of a refusal.
type refusal struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// obsWindow is a metrics window whose one observation is given raw.
func obsWindow(version, metric, observation string) string {
	return `{"window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:01:00Z"},"versions":{"` +
		version + `":{"` + metric + `":` + observation + `}}}`
}

// TestHostileInput sends malformed, oversized, mistyped and unauthorised
// events to the real functions binary. Each gets its documented 4xx
// (which Knative does not retry) with a message naming the field or what
// was wrong; the server keeps serving, and neither Service is written.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	e := newEnv(ctx, t, "v1", "v2")
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))
	legacy := &servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: e.ns}}
	legacy.Spec.Template.Spec.Containers = []corev1.Container{{Image: deliver.Image}}
	if _, err := e.sv.ServingV1().Services(e.ns).Create(ctx, legacy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	shop, old := e.subject("shop"), e.subject("legacy")
	settledShop, settledLegacy := e.settled(ctx, t, "shop"), e.settled(ctx, t, "legacy")

	observed := func(data string) rawRequest { return binaryMode(events.TypeMetricsObserved, shop, data) }
	good := obsWindow("shop-v1", "errors", `{"successes":1,"trials":10}`)
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	big := obsWindow("shop-v1", "errors", `{"successes":1,"trials":10}`)
	big = big[:len(big)-1] + `,"padding":"` + strings.Repeat("x", events.MaxEventBytes) + `"}`
	edge := strings.Replace(good, `"end":"2026-01-01T00:01:00Z"`, `"end":"9999-12-31T23:59:59-23:59"`, 1)
	hugeID := structuredMode(shop, map[string]string{"id": `"` + strings.Repeat("i", 400<<10) + `"`})
	dataOverLimit := `{"action":"pause","reason":"` + strings.Repeat("x", events.MaxDataBytes) + `"}`
	cases := []struct {
		name   string
		req    rawRequest
		status int
		says   string
	}{
		{"body over the limit", observed(big), 413, fmt.Sprintf("body is %d bytes, more than 524288", len(big))},
		{"body over the limit, chunked", func() rawRequest { r := observed(big); r.chunked = true; return r }(), 413, "body is more than 524288 bytes"},
		{"data over 256 KiB", binaryMode(events.TypeExperimentControl, shop, dataOverLimit), 413, fmt.Sprintf("data is %d bytes, more than 262144", len(dataOverLimit))},
		// The outside corpus: attributes the CloudEvents SDK answered 500
		// (retried), or, for a numeric data_base64, crashed the process on.
		{"Ce-Id empty", observed(good).with("Ce-Id", ""), 400, "Ce-Id: must not be empty"},
		{"Ce-Time yesterday", observed(good).with("Ce-Time", "yesterday"), 400, `Ce-Time: time must be RFC 3339`},
		{"Ce-Time +24:00", observed(good).with("Ce-Time", "2026-01-01T00:00:00+24:00"), 400, `Ce-Time: time must be RFC 3339`},
		{"Ce-Source broken percent-escape", observed(good).with("Ce-Source", "/iter8/%zz"), 400, `Ce-Source: not a URI-reference: invalid URL escape "%zz"`},
		{"Ce-Dataschema ::", observed(good).with("Ce-Dataschema", "::"), 400, "Ce-Dataschema: not a URI: missing protocol scheme"},
		{"Ce-Specversion 0.3", observed(good).with("Ce-Specversion", "0.3"), 415, `Ce-Specversion: CloudEvents "0.3", want 1.0`},
		{"extension name with a hyphen", observed(good).with("Ce-Trace-Id", "1"), 400, "Ce-Trace-id: extension name must be lower-case letters and digits"},
		{"structured: time yesterday", structuredMode(shop, map[string]string{"time": `"yesterday"`}), 400, "time: time must be RFC 3339"},
		{"structured: data_base64 not base64", structuredMode(shop, map[string]string{"data": "-", "data_base64": `"not base64!"`}), 400,
			"data_base64: not base64: illegal base64 data at input byte 3"},
		{"structured: data_base64 a number", structuredMode(shop, map[string]string{"data": "-", "data_base64": `7`}), 400, "data_base64: must be a string"},
		{"structured: extension an object", structuredMode(shop, map[string]string{"ext": `{"a":1}`}), 400,
			"ext: must be a string, a boolean or an integer, got an object"},
		{"structured: subject 42", structuredMode(shop, map[string]string{"subject": `42`}), 400, "subject: must be a string, got a number"},
		{"structured: data and data_base64", structuredMode(shop, map[string]string{"data_base64": `"e30="`}), 400,
			"data_base64: data and data_base64 are exclusive: send one"},
		{"structured: id of 400 KB", hugeID, 400, "id: must be at most 4096 bytes, got 409600"},
		{"window ending in year 10000 UTC", observed(edge), 400,
			`data.window.end: time "9999-12-31T23:59:59-23:59" is outside years 0001 to 9999 in UTC, or too near their edge: write it in UTC`},
		{"window ending at +24:00", observed(strings.Replace(good, "00:01:00Z", "00:01:00+24:00", 1)), 400, "data.window.end: time must be RFC 3339"},
		{"JSON nested 40 deep", observed(obsWindow("shop-v1", "errors", deep)), 400, "nested deeper than 32"},
		{"NaN token", observed(obsWindow("shop-v1", "latency", `{"count":1,"sum":NaN,"sumSquares":1}`)), 400, "invalid JSON"},
		{"NaN as a string", observed(obsWindow("shop-v1", "errors", `{"successes":"NaN","trials":10}`)), 400, `data.versions["shop-v1"]["errors"].successes`},
		{"Infinity token", observed(obsWindow("shop-v1", "latency", `{"count":1,"sum":Infinity,"sumSquares":1}`)), 400, "invalid JSON"},
		{"1e999", observed(obsWindow("shop-v1", "latency", `{"count":1,"sum":1e999,"sumSquares":1}`)), 400, `["latency"].sum`},
		{"negative count", observed(obsWindow("shop-v1", "errors", `{"successes":-1,"trials":10}`)), 400, `["errors"].successes`},
		{"count over 2^53", observed(obsWindow("shop-v1", "errors", `{"successes":1,"trials":9007199254740993}`)), 400, `["errors"].trials`},
		{"count over int64", observed(obsWindow("shop-v1", "errors", `{"successes":1,"trials":99999999999999999999}`)), 400, `["errors"].trials`},
		{"count with exponent", observed(obsWindow("shop-v1", "errors", `{"successes":1,"trials":1e3}`)), 400, `["errors"].trials`},
		{"successes over trials", observed(obsWindow("shop-v1", "errors", `{"successes":11,"trials":10}`)), 400, "trials"},
		{"unknown version", observed(obsWindow("shop-v9", "errors", `{"successes":1,"trials":10}`)), 400, "shop-v9"},
		{"unknown metric", observed(obsWindow("shop-v1", "joy", `{"successes":1,"trials":10}`)), 400, "joy"},
		{"wrong metric shape", observed(obsWindow("shop-v1", "errors", `{"count":1,"sum":1,"sumSquares":1}`)), 400, "errors"},
		{"duplicate key", observed(obsWindow("shop-v1", "errors", `{"successes":1,"successes":2,"trials":10}`)), 400, "duplicate"},
		{"null value", observed(obsWindow("shop-v1", "errors", `{"successes":null,"trials":10}`)), 400, "null"},
		{"unknown field", observed(obsWindow("shop-v1", "errors", `{"successes":1,"trials":10,"weight":3}`)), 400, "weight"},
		{"window ends before it starts", observed(strings.Replace(good, "00:01:00Z", "00:00:00Z", 1)), 400, "window"},
		{"content type text/plain", observed(good).with("Content-Type", "text/plain"), 415, "text/plain"},
		{"content type XML", observed(good).with("Content-Type", "application/xml"), 415, "application/xml"},
		{"structured mode, not an object", rawRequest{method: http.MethodPost, body: []byte(`[1,2]`),
			headers: map[string]string{"Content-Type": events.ContentTypeStructured}}, 400, "JSON object"},
		{"structured mode, broken JSON", rawRequest{method: http.MethodPost, body: []byte(`{"specversion":"1.0",`),
			headers: map[string]string{"Content-Type": events.ContentTypeStructured}}, 400, "JSON"},
		{"batched mode", rawRequest{method: http.MethodPost, body: []byte(`[{"specversion":"1.0","id":"b","source":"/s","type":"` + events.TypeExperimentControl + `"}]`),
			headers: map[string]string{"Content-Type": "application/cloudevents-batch+json"}}, 415, "batched"},
		{"no id", observed(good).without("Ce-Id"), 400, "Ce-Id: required"},
		{"no source", observed(good).without("Ce-Source"), 400, "Ce-Source: required"},
		{"no type", observed(good).without("Ce-Type"), 400, "Ce-Type: required"},
		{"no subject", observed(good).without("Ce-Subject"), 400, "subject"},
		{"no specversion", observed(good).without("Ce-Specversion"), 415, "not a CloudEvent: no Ce-Specversion header"},
		{"specversion 0.1", observed(good).with("Ce-Specversion", "0.1"), 415, `Ce-Specversion: CloudEvents "0.1", want 1.0`},
		{"GET", rawRequest{method: http.MethodGet}, 405, `CloudEvents are POSTed; got "GET"`},
		{"subject not namespace/name", observed(good).with("Ce-Subject", "shop"), 400, "subject"},
		{"subject with a path", observed(good).with("Ce-Subject", e.ns+"/../kube-system/x"), 400, "subject"},
		{"unknown type", binaryMode("com.example.other", shop, `{}`), 400, "com.example.other"},
		{"wrong dataschema", observed(good).with("Ce-Dataschema", "https://evil.example.com/s.json"), 400, "dataschema"},
		{"control reason too long", binaryMode(events.TypeExperimentControl, shop, `{"action":"pause","reason":"`+strings.Repeat("x", 1025)+`"}`), 400, "reason"},
		{"start for a Service that does not exist", binaryMode(events.TypeExperimentStart, e.subject("nope"), longCanary("nope-v1", "nope-v2")), 422, e.ns + "/nope"},
		{"second start while one runs", binaryMode(events.TypeExperimentStart, shop, longCanary("shop-v1", "shop-v2")), 422, "already"},
		{"start on a Service not opted in", binaryMode(events.TypeExperimentStart, old, longCanary("legacy-v1", "legacy-v2")), 403, "iter8.dev/enabled=true"},
		{"control on a Service not opted in", binaryMode(events.TypeExperimentControl, old, `{"action":"abort"}`), 403, "iter8.dev/enabled=true"},
		{"window for a Service not opted in", binaryMode(events.TypeMetricsObserved, old, obsWindow("legacy-v1", "errors", `{"successes":1,"trials":10}`)), 403, "iter8.dev/enabled=true"},
		{"headers over 64 KiB", observed(good).with("X-Padding", strings.Repeat("x", 70<<10)), 431, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := tc.req.send(t, e.fn.URL)
			t.Logf("%d %s", status, strings.TrimSpace(body))
			if status != tc.status {
				t.Errorf("status %d, want %d; body %s", status, tc.status, body)
			}
			if events.Retried(status) {
				t.Errorf("status %d is retried by Knative: a bad event would come back again and again", status)
			}
			if len(body) > events.MaxErrorReplyBytes {
				t.Errorf("the answer is %d bytes long, over the cap of %d", len(body), events.MaxErrorReplyBytes)
			}
			if status == http.StatusRequestHeaderFieldsTooLarge {
				return // net/http's own answer, before iter8 sees the request
			}
			var r refusal
			if err := json.Unmarshal([]byte(body), &r); err != nil || r.Status != status {
				t.Fatalf("answer %q is not the JSON refusal of status %d: %v", body, status, err)
			}
			if !strings.Contains(r.Error, tc.says) {
				t.Errorf("error %q does not name %q", r.Error, tc.says)
			}
			resp, err := http.Get(e.fn.URL + "/healthz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("the server stopped serving: %v %v", err, resp)
			}
			resp.Body.Close()
		})
	}
	for name, before := range map[string]string{"shop": settledShop, "legacy": settledLegacy} {
		if after := e.service(ctx, t, name).ResourceVersion; after != before {
			t.Errorf("service %s was written (resourceVersion %s -> %s)", name, before, after)
		}
	}
	if legacy := e.service(ctx, t, "legacy"); legacy.Annotations[events.Prefix+"state"] != "" || legacy.Spec.Traffic != nil {
		t.Errorf("the Service that did not opt in was given an experiment")
	}
	// This test's own store is a fresh process to the functions: it reads
	// the experiment without their decode cache.
	if err := consistent(e.record(ctx, t, "shop")); err != nil {
		t.Errorf("shop after the hostile input: %v", err)
	}
}

// TestDedupeKeyCollision is the outside corpus's collision: a resume whose
// source and id, joined with a space, read as an earlier pause's ("a b" +
// "c" against "a" + "b c") was answered 200 and dropped as a duplicate.
// An opaque URI keeps its space (the SDK escapes one in a path). Each is
// applied once; the redelivered pause alone is a duplicate.
func TestDedupeKeyCollision(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newEnv(ctx, t, "v1", "v2")
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))
	control := func(source, id, action string) rawRequest {
		return binaryMode(events.TypeExperimentControl, e.subject("shop"), `{"action":"`+action+`"}`).with("Ce-Source", source).with("Ce-Id", id)
	}
	for _, step := range []struct {
		req   rawRequest
		phase experiment.Phase
	}{
		{control("urn:iter8:hostile a", "b", "pause"), experiment.PhasePaused},
		{control("urn:iter8:hostile", "a b", "resume"), experiment.PhaseRunning},
		{control("urn:iter8:hostile a", "b", "pause"), experiment.PhaseRunning}, // a redelivery
	} {
		if status, body := step.req.send(t, e.fn.URL); status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", step.req.headers["Ce-Source"], step.req.headers["Ce-Id"], status, body)
		}
		if got := e.record(ctx, t, "shop").State.Phase; got != step.phase {
			t.Fatalf("after %s %q: phase %s, want %s", step.req.headers["Ce-Source"], step.req.headers["Ce-Id"], got, step.phase)
		}
	}
}

// settled waits until the Knative controller is done with the Service
// (Ready, its latest generation observed, and no write for a while) and
// returns its resourceVersion, so that a later change can only be ours.
func (e *env) settled(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	last, stable := "", 0
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s := e.service(ctx, t, name)
		if !s.IsReady() || s.Status.ObservedGeneration != s.Generation || s.ResourceVersion != last {
			last, stable = s.ResourceVersion, 0
			return false, nil
		}
		stable++
		return stable >= 5, nil
	})
	if err != nil {
		t.Fatalf("service %s did not settle: %v", name, err)
	}
	return last
}
