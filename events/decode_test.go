package events

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/go-cmp/cmp"
)

const okControl = `{"action":"promote","version":"v2"}`

func rawEvent(typ, subject, contentType, data string) event.Event {
	e := event.New()
	e.SetID("id-1")
	e.SetSource("test")
	e.SetType(typ)
	e.SetSubject(subject)
	e.SetDataContentType(contentType)
	e.DataEncoded = []byte(data)
	return e
}

func TestDecodeEnvelope(t *testing.T) {
	big := `{"action":"pause","reason":"` + strings.Repeat("x", MaxDataBytes) + `"}`
	for _, tc := range []struct {
		name   string
		e      event.Event
		status int // 0: accepted
		errHas string
	}{
		{name: "ok", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/json", okControl)},
		{name: "charset", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/json; charset=utf-8", okControl)},
		{name: "no content type", e: rawEvent(TypeExperimentControl, "shop/checkout", "", okControl)},
		{name: "wrong type", e: rawEvent(TypeMetricsObserved, "shop/checkout", "application/json", okControl),
			status: 400, errHas: `type "dev.iter8.metrics.observed", want "dev.iter8.experiment.control"`},
		{name: "no subject", e: rawEvent(TypeExperimentControl, "", "application/json", okControl), status: 400, errHas: "subject"},
		{name: "bad subject", e: rawEvent(TypeExperimentControl, "shop/Checkout", "application/json", okControl), status: 400, errHas: "service"},
		{name: "text content", e: rawEvent(TypeExperimentControl, "shop/checkout", "text/plain", okControl), status: 415},
		{name: "bad media type", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/", okControl), status: 415},
		{name: "cloudevents content", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/cloudevents+json", okControl), status: 415},
		{name: "too large, checked before parsing", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/json", big[:MaxDataBytes+1]),
			status: 413, errHas: "more than 262144"},
		{name: "no data", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/json", ""), status: 400, errHas: "data: required"},
		{name: "not JSON", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/json", "{action:"), status: 400, errHas: "invalid JSON"},
		{name: "trailing data", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/json", okControl+" {}"), status: 400, errHas: "invalid JSON"},
		{name: "null", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/json", "null"), status: 400, errHas: "must not be null"},
		{name: "array", e: rawEvent(TypeExperimentControl, "shop/checkout", "application/json", "[]"), status: 400, errHas: "data: must be an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeControl(tc.e)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("DecodeControl: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeControl accepted it")
			}
			if got := StatusOf(err); got != tc.status || !IsPermanent(err) {
				t.Errorf("StatusOf = %d, permanent %v; want %d, permanent: %v", got, IsPermanent(err), tc.status, err)
			}
			if !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), `event "id-1" from "test"`) {
				t.Errorf("error %q should name the event and mention %q", err, tc.errHas)
			}
		})
	}
}

func TestDecodeDataSchema(t *testing.T) {
	for schema, ok := range map[string]bool{
		"":                               true,
		SchemaURI(TypeExperimentControl): true,
		SchemaURI(TypeMetricsObserved):   false,
		"https://iter8.dev/schema/v2/experiment.control.json": false,
	} {
		e := rawEvent(TypeExperimentControl, "shop/checkout", "application/json", okControl)
		e.SetDataSchema(schema)
		if _, err := DecodeControl(e); (err == nil) != ok {
			t.Errorf("dataschema %q: err = %v, want accepted %v", schema, err, ok)
		}
	}
}

func TestDecodeUnknownType(t *testing.T) {
	for _, typ := range []string{TypePing, "com.example.other", ""} {
		_, err := Decode(rawEvent(typ, "shop/checkout", "application/json", "{}"))
		if StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "unknown event type") {
			t.Errorf("Decode(type %q) = %v, want 400 unknown event type", typ, err)
		}
	}
}

// TestDecodeStrictJSON checks what encoding/json alone would accept and the
// contract refuses, with the path of the offending value.
func TestDecodeStrictJSON(t *testing.T) {
	win := `"window":{"start":"2025-03-04T10:00:00Z","end":"2025-03-04T10:01:00Z"}`
	for _, tc := range []struct {
		name, data string
		want       FieldErrors
	}{
		{"unknown top-level field", `{` + win + `,"versions":{"v1":{"e":{"successes":1,"trials":2}}},"x":1}`,
			FieldErrors{{"data.x", "unknown field"}}},
		{"unknown nested field", `{` + win + `,"versions":{"v1":{"e":{"successes":1,"trials":2,"rate":0.5}}}}`,
			FieldErrors{{`data.versions["v1"]["e"].rate`, "unknown field"}}},
		{"field name differs in case", `{` + win + `,"Versions":{"v1":{"e":{"successes":1,"trials":2}}}}`,
			FieldErrors{{"data.versions", "required"}, {"data.Versions", `unknown field (did you mean "versions"?)`}}},
		{"missing fields", `{"versions":{"v1":{"e":{"successes":1,"trials":2}}},"window":{}}`,
			FieldErrors{{"data.window.end", "required"}, {"data.window.start", "required"}}},
		{"duplicate field", `{` + win + `,"versions":{"v1":{"e":{"successes":1,"trials":2,"trials":3}}}}`,
			FieldErrors{{`data.versions["v1"]["e"].trials`, "duplicate field"}}},
		{"duplicate key", `{` + win + `,"versions":{"v1":{"e":{"successes":1,"trials":2}},"v1":{}}}`,
			FieldErrors{{`data.versions["v1"]`, "duplicate key"}}},
		{"null value", `{` + win + `,"versions":{"v1":{"e":{"successes":null,"trials":2}}}}`,
			FieldErrors{{`data.versions["v1"]["e"].successes`, "must not be null: omit the field instead"}}},
		{"string for integer", `{` + win + `,"versions":{"v1":{"e":{"successes":"1","trials":2}}}}`,
			FieldErrors{{`data.versions["v1"]["e"].successes`, "must be an integer in range, without fraction or exponent"}}},
		{"fraction", `{` + win + `,"versions":{"v1":{"e":{"successes":1,"trials":2.0}}}}`,
			FieldErrors{{`data.versions["v1"]["e"].trials`, "must be an integer in range, without fraction or exponent"}}},
		{"beyond int64", `{` + win + `,"versions":{"v1":{"e":{"successes":1,"trials":99999999999999999999}}}}`,
			FieldErrors{{`data.versions["v1"]["e"].trials`, "must be an integer in range, without fraction or exponent"}}},
		{"beyond float64", `{` + win + `,"versions":{"v1":{"m":{"count":1,"sum":1e400,"sumSquares":1}}}}`,
			FieldErrors{{`data.versions["v1"]["m"].sum`, "must be a number in float64 range"}}},
		{"array for object", `{` + win + `,"versions":[]}`, FieldErrors{{"data.versions", "must be an object"}}},
		{"object for array", `{` + win + `,"versions":{"v1":{"h":{"bounds":{},"counts":[1,2]}}}}`,
			FieldErrors{{`data.versions["v1"]["h"].bounds`, "must be an array"}}},
		{"several, in key order", `{"window":1,"versions":{"v2":{"e":{"z":1}},"v1":{"e":{"a":1}}}}`,
			FieldErrors{
				{`data.versions["v1"]["e"].a`, "unknown field"},
				{`data.versions["v2"]["e"].z`, "unknown field"},
				{"data.window", "must be an object"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMetricsObserved(rawEvent(TypeMetricsObserved, "shop/checkout", "application/json", tc.data))
			if diff := cmp.Diff(tc.want, FieldErrorsOf(err)); diff != "" {
				t.Errorf("(-want +got):\n%s\nerror: %v", diff, err)
			}
			if StatusOf(err) != http.StatusBadRequest {
				t.Errorf("status %d, want 400", StatusOf(err))
			}
		})
	}
}

// TestDecodeDeepJSON checks that deeply nested input is refused with an
// error, not a panic or a stack overflow, at depths below and far beyond
// encoding/json's own limit of 10000.
func TestDecodeDeepJSON(t *testing.T) {
	for _, depth := range []int{MaxDepth + 1, 10001, MaxDataBytes/2 - 100} {
		for _, open := range []string{"[", `{"a":`} {
			close := map[string]string{"[": "]", `{"a":`: "}"}[open]
			n := min(depth, (MaxDataBytes-64)/(len(open)+len(close)))
			data := `{"action":"pause","reason":` + strings.Repeat(open, n) + "1" + strings.Repeat(close, n) + "}"
			_, err := DecodeControl(rawEvent(TypeExperimentControl, "shop/checkout", "application/json", data))
			if err == nil || !strings.Contains(err.Error(), "nested deeper than 32") || StatusOf(err) != 400 {
				t.Errorf("depth %d of %s: %v, want 400 nested deeper than 32", n, open, err)
			}
		}
	}
	// Behind our limit, encoding/json's own refuses, and does not panic.
	deep := `{"reason":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	var c Control
	err := decodeStrictDepth([]byte(deep), "data", &c, 1<<30)
	if err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Errorf("without our depth limit: %v, want encoding/json's max depth error", err)
	}
	// Brackets inside strings are not nesting.
	data := `{"action":"pause","reason":"` + strings.Repeat(`[{\"`, 100) + `"}`
	if _, err := DecodeControl(rawEvent(TypeExperimentControl, "shop/checkout", "application/json", data)); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
}

func TestDecodeValues(t *testing.T) {
	b := mustRead(t, "testdata/metrics.observed.conversion.json")
	got, err := DecodeMetricsObserved(readEvent(t, b))
	if err != nil {
		t.Fatal(err)
	}
	cet := time.FixedZone("", 3600)
	want := NewMetricsObserved(time.Date(2025, 3, 4, 10, 0, 0, 0, cet), time.Date(2025, 3, 4, 10, 1, 0, 0, cet))
	want.Set("v1", "conversion", Ratio(96, 1000))
	want.Set("v2", "conversion", Ratio(0, 0))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	spec, err := DecodeExperimentStart(readEvent(t, mustRead(t, "testdata/experiment.start.abn.json")))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Kind != KindABN || spec.Confidence != 0 || len(spec.Candidates) != 2 {
		t.Errorf("DecodeExperimentStart returned %+v, want the abn spec as written, without defaults", spec)
	}

	c, err := DecodeControl(readEvent(t, mustRead(t, "testdata/experiment.control.pause.json")))
	if diff := cmp.Diff(Control{Action: ActionPause, Reason: "incident INC-42: freeze traffic"}, c); diff != "" || err != nil {
		t.Errorf("DecodeControl: %v (-want +got):\n%s", err, diff)
	}
}

// TestDecodeBinaryMode decodes the binary-mode request docs/events.md shows
// with curl, through the SDK's HTTP binding.
func TestDecodeBinaryMode(t *testing.T) {
	body := `{"window":{"start":"2025-03-04T10:00:00Z","end":"2025-03-04T10:01:00Z"},
  "versions":{"checkout-00001":{"orders":{"successes":96,"trials":1000}},
              "checkout-00002":{"orders":{"successes":12,"trials":110}}}}`
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewBufferString(body))
	for k, v := range map[string]string{
		"Ce-Specversion": "1.0",
		"Ce-Type":        TypeMetricsObserved,
		"Ce-Source":      "https://shop.example.com/checkout",
		"Ce-Id":          "orders-2025-03-04T10:00Z",
		"Ce-Subject":     "shop/checkout",
		"Content-Type":   "application/json",
	} {
		req.Header.Set(k, v)
	}
	e, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMetricsObserved(*e)
	if err != nil {
		t.Fatal(err)
	}
	if got := *m.Versions["checkout-00002"]["orders"].Successes; got != 12 {
		t.Errorf("successes = %d, want 12", got)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMembers(t *testing.T) {
	raw := " {\"a\\\"b\" : \"x}\\\\\" ,\n\"c\":[1,{\"d\":\"]\"}],\"e\":-1.5e5,\"f\":true,\"a\\\"b\":null,\"g\":{}}"
	ms, ok := members([]byte(strings.TrimSpace(raw)))
	if !ok {
		t.Fatal("members refused a valid object")
	}
	got := map[string][]string{}
	for _, m := range ms {
		got[m.key] = append(got[m.key], string(m.value))
	}
	want := map[string][]string{
		`a"b`: {`"x}\\"`, "null"},
		"c":   {`[1,{"d":"]"}]`},
		"e":   {"-1.5e5"},
		"f":   {"true"},
		"g":   {"{}"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if ms, ok := members([]byte("{}")); !ok || len(ms) != 0 {
		t.Errorf("members({}) = %v, %v", ms, ok)
	}
	if _, ok := members([]byte("[]")); ok {
		t.Errorf("members([]) accepted an array")
	}
}
