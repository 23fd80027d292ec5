package events

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

func TestNew(t *testing.T) {
	at := time.Date(2025, 3, 4, 11, 0, 0, 0, time.FixedZone("", 3600))
	data := TrafficChanged{Service: "checkout", Iteration: 1, From: map[string]int{"v1": 100}, To: map[string]int{"v1": 80, "v2": 20}}
	e, err := New(TypeTrafficChanged, "iter8", "shop/checkout", at, data)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"type":            e.Type(),
		"source":          e.Source(),
		"subject":         e.Subject(),
		"time":            e.Time().Format(time.RFC3339),
		"dataschema":      e.DataSchema(),
		"datacontenttype": e.DataContentType(),
		"specversion":     e.SpecVersion(),
		"data":            string(e.Data()),
	}
	want := map[string]string{
		"type":            TypeTrafficChanged,
		"source":          "iter8",
		"subject":         "shop/checkout",
		"time":            "2025-03-04T10:00:00Z",
		"dataschema":      "https://iter8.dev/schema/v1/traffic.changed.json",
		"datacontenttype": "application/json",
		"specversion":     "1.0",
		"data":            `{"service":"checkout","iteration":1,"from":{"v1":100},"to":{"v1":80,"v2":20}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(e.ID()) != 32 {
		t.Errorf("id %q, want 32 hex digits", e.ID())
	}

	// The id is a function of the content: same content, same id; any
	// difference, another id.
	again, _ := New(TypeTrafficChanged, "iter8", "shop/checkout", at.UTC(), &data)
	if again.ID() != e.ID() {
		t.Errorf("re-emitting the same event gave id %s, then %s", e.ID(), again.ID())
	}
	other := data
	other.Iteration = 2
	for name, ev := range map[string]func() (string, error){
		"data": func() (string, error) {
			x, err := New(TypeTrafficChanged, "iter8", "shop/checkout", at, other)
			return x.ID(), err
		},
		"time": func() (string, error) {
			x, err := New(TypeTrafficChanged, "iter8", "shop/checkout", at.Add(1), data)
			return x.ID(), err
		},
		"source": func() (string, error) {
			x, err := New(TypeTrafficChanged, "iter9", "shop/checkout", at, data)
			return x.ID(), err
		},
		"subject": func() (string, error) {
			x, err := New(TypeTrafficChanged, "iter8", "shop/cart", at, data)
			return x.ID(), err
		},
	} {
		id, err := ev()
		if err != nil || id == e.ID() {
			t.Errorf("changing the %s: id %s, err %v; want a new id", name, id, err)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	at := time.Date(2025, 3, 4, 11, 0, 0, 0, time.UTC)
	ok := Failed{Service: "checkout", Reason: "gone"}
	var nilFailed *Failed
	for _, tc := range []struct {
		name          string
		typ, src, sub string
		at            time.Time
		data          any
		errHas        string
	}{
		{"unknown type", "dev.iter8.other", "s", "shop/checkout", at, ok, "unknown type"},
		{"ping", TypePing, "s", "shop/checkout", at, ok, "unknown type"},
		{"wrong data type", TypeExperimentCompleted, "s", "shop/checkout", at, ok, "data is events.Failed"},
		{"nil data", TypeExperimentFailed, "s", "shop/checkout", at, nil, "data is <nil>"},
		{"nil pointer", TypeExperimentFailed, "s", "shop/checkout", at, nilFailed, "data is *events.Failed"},
		{"invalid data", TypeExperimentFailed, "s", "shop/checkout", at, Failed{Service: "checkout"}, "data.reason: required"},
		{"no source", TypeExperimentFailed, "", "shop/checkout", at, ok, "source is required"},
		{"bad subject", TypeExperimentFailed, "s", "checkout", at, ok, "<namespace>/<service>"},
		{"no time", TypeExperimentFailed, "s", "shop/checkout", time.Time{}, ok, "time is required"},
		{"too large", TypeExperimentFailed, "s", "shop/checkout", at, Failed{Service: "checkout", Reason: strings.Repeat("x", MaxDataBytes)}, "more than 262144"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.typ, tc.src, tc.sub, tc.at, tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("New: %v, want an error mentioning %q", err, tc.errHas)
			}
		})
	}
}

// TestNewDecodeRoundTrip rebuilds every example with New from its decoded
// data and decodes the result: what iter8 emits, it can read back.
func TestNewDecodeRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		in := readEvent(t, mustRead(t, f))
		data, err := Decode(in)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		at := in.Time()
		if at.IsZero() {
			at = t0
		}
		out, err := New(in.Type(), in.Source(), in.Subject(), at, data)
		if err != nil {
			t.Errorf("%s: New: %v", f, err)
			continue
		}
		back, err := Decode(out)
		if err != nil {
			t.Errorf("%s: decoding New's event: %v", f, err)
			continue
		}
		if diff := cmp.Diff(data, back); diff != "" {
			t.Errorf("%s: round trip (-in +out):\n%s", f, diff)
		}
		// The SDK's structured encoding carries the data as JSON.
		b, err := json.Marshal(out)
		if err != nil || !strings.Contains(string(b), `"data":{`) {
			t.Errorf("%s: structured encoding %s, err %v", f, b, err)
		}
	}
}

// TestDedupeKeyUnambiguous is the outside corpus's collision: source and id
// joined with a space read the same for ("/ops?q=4 2", "x") and ("/ops?q=4",
// "2 x"). A query, like an opaque URI, keeps its space unescaped.
func TestDedupeKeyUnambiguous(t *testing.T) {
	a, b := event.New(), event.New()
	a.SetSource("https://shop.example.com/ops?q=4 2")
	a.SetID("x")
	b.SetSource("https://shop.example.com/ops?q=4")
	b.SetID("2 x")
	if a.Source()+" "+a.ID() != b.Source()+" "+b.ID() || DedupeKey(a) == DedupeKey(b) {
		t.Errorf("keys %q and %q", DedupeKey(a), DedupeKey(b))
	}
}

func TestDedupeKey(t *testing.T) {
	e := rawEvent(TypeExperimentControl, "shop/checkout", "application/json", okControl)
	e.SetSource("https://shop.example.com/ops")
	e.SetID("42")
	if got, want := DedupeKey(e), "28:https://shop.example.com/ops 42"; got != want {
		t.Errorf("DedupeKey = %q, want %q", got, want)
	}
	for _, change := range []func(f *event.Event){
		func(f *event.Event) { f.SetID("43") },
		func(f *event.Event) { f.SetSource("https://shop.example.com/ops2") },
	} {
		f := e.Clone()
		change(&f)
		if DedupeKey(f) == DedupeKey(e) {
			t.Errorf("%s and %s share a key", f, e)
		}
	}
	// The type and data do not enter the key: the CloudEvents spec makes
	// source and id identify an event.
	f := e.Clone()
	f.SetType(TypeMetricsObserved)
	if DedupeKey(f) != DedupeKey(e) {
		t.Errorf("changing the type changed the key")
	}
}

func TestWindowID(t *testing.T) {
	w := Window{Start: Time{t0}, End: Time{t0.Add(time.Minute)}}
	id := WindowID("shop/checkout", "collector", w)
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("WindowID = %q, want 32 lowercase hex digits", id)
	}
	sameInstant := Window{Start: Time{t0.In(time.FixedZone("", -5*3600))}, End: Time{t0.Add(time.Minute).In(time.FixedZone("", 3600))}}
	if got := WindowID("shop/checkout", "collector", sameInstant); got != id {
		t.Errorf("the same window in other zones: %s, want %s", got, id)
	}
	for name, other := range map[string]string{
		"service": WindowID("shop/cart", "collector", w),
		"source":  WindowID("shop/checkout", "app", w),
		"start":   WindowID("shop/checkout", "collector", Window{Start: Time{t0.Add(1)}, End: w.End}),
		"end":     WindowID("shop/checkout", "collector", Window{Start: w.Start, End: Time{t0.Add(2 * time.Minute)}}),
		// The separator keeps "ab"+"c" apart from "a"+"bc".
		"split": WindowID("shop/checkou", "tcollector", w),
	} {
		if other == id {
			t.Errorf("changing the %s kept the id %s", name, id)
		}
	}
}
