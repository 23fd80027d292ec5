package events

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// timeCases are times at and around every edge of the rule: the offset's
// hours, the years 0001 and 9999 before and after normalisation to UTC,
// the calendar, the letter case and the fraction's length.
var timeCases = []struct {
	in string
	ok bool
}{
	{"2026-01-02T15:04:05Z", true},
	{"2026-01-02T15:04:05.123456789Z", true},
	{"2026-01-02T15:04:05.1234567891Z", false},
	{"2026-01-02T15:04:05+23:59", true},
	{"2026-01-02T15:04:05-23:59", true},
	{"2026-01-02T15:04:05+24:00", false},
	{"2026-01-02T15:04:05-24:00", false},
	{"2026-01-02T15:04:05+05:60", false},
	{"2026-01-02T15:04:05+0500", false},
	{"2026-01-02t15:04:05z", false},
	{"2026-01-02 15:04:05Z", false},
	{"2026-02-29T00:00:00Z", false},
	{"2024-02-29T00:00:00Z", true},
	{"2026-13-01T00:00:00Z", false},
	{"2026-01-01T24:00:00Z", false},
	{"2026-01-01T23:59:60Z", false},
	{"yesterday", false},
	{"", false},
	{"0000-12-31T23:59:59Z", false},
	{"0001-01-01T00:00:00Z", true},
	{"0001-01-01T00:00:00-23:59", true},
	{"0001-01-01T00:00:00+00:01", false},
	{"0001-01-01T23:59:59+01:00", false},
	{"0001-01-02T00:00:00+23:59", true},
	{"9999-12-31T23:59:59.999999999Z", true},
	{"9999-12-31T00:00:00+23:59", true},
	{"9999-12-31T23:59:59-23:59", false},
	{"9999-12-31T00:00:00-00:01", false},
	{"9999-12-30T23:59:59-23:59", true},
	{"10000-01-01T00:00:00Z", false},
	{"+2026-01-02T15:04:05Z", false},
}

// TestParseTime checks the rule in Go: what it accepts is in UTC and
// within years 1 to 9999, so it marshals and parses back to the same
// instant; what it refuses it names.
func TestParseTime(t *testing.T) {
	for _, tc := range timeCases {
		got, err := ParseTime(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseTime(%q) = %v, %v; want ok %v", tc.in, got, err, tc.ok)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), "time") {
				t.Errorf("ParseTime(%q): error %q does not say time", tc.in, err)
			}
			continue
		}
		if got.Location() != time.UTC || got.Year() < 1 || got.Year() > 9999 {
			t.Errorf("ParseTime(%q) = %v: not in UTC years 1 to 9999", tc.in, got)
		}
		b, err := json.Marshal(Time{got})
		if err != nil {
			t.Fatalf("marshal %q: %v", tc.in, err)
		}
		var back Time
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(got) {
			t.Errorf("%q: wrote %s, read back %v, %v", tc.in, b, back, err)
		}
	}
}

// TestTimeSchemaAgreesWithGo checks the JSON Schema's time against Go's on
// every case: both accept or both refuse.
func TestTimeSchemaAgreesWithGo(t *testing.T) {
	c, err := schemaCompiler()
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaBase + "defs.json#/$defs/time")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range timeCases {
		schemaErr := s.Validate(tc.in)
		_, goErr := ParseTime(tc.in)
		if (schemaErr == nil) != (goErr == nil) || (goErr == nil) != tc.ok {
			t.Errorf("%q: schema says %v, Go says %v; want ok %v", tc.in, schemaErr, goErr, tc.ok)
		}
	}
}

// TestTimePatternsInSchema checks that defs.json states the Go patterns
// word for word.
func TestTimePatternsInSchema(t *testing.T) {
	b, err := fs.ReadFile(SchemaFS(), "defs.json")
	if err != nil {
		t.Fatal(err)
	}
	var defs struct {
		Defs struct {
			Time struct {
				Pattern string `json:"pattern"`
				Not     struct {
					Pattern string `json:"pattern"`
				} `json:"not"`
			} `json:"time"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	if got := defs.Defs.Time.Pattern; got != TimePattern {
		t.Errorf("defs.json time pattern %q, Go %q", got, TimePattern)
	}
	if got := defs.Defs.Time.Not.Pattern; got != TimeEdgePattern {
		t.Errorf("defs.json time not-pattern %q, Go %q", got, TimeEdgePattern)
	}
	regexp.MustCompile(TimePattern)
}

// TestTimeOutOfRangeNotWritten checks the writer's side: a time whose
// year in UTC leaves 1 to 9999 is an error, never text no reader parses.
func TestTimeOutOfRangeNotWritten(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("", -(23*3600+59*60))),
		time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		if b, err := json.Marshal(Time{tm}); err == nil {
			t.Errorf("%v marshalled to %s", tm, b)
		}
	}
}

// TestWindowAtTheEdgeRefused is the window from the outside corpus: valid
// RFC 3339, but year 10000 in UTC. It was accepted and stored, and every
// fresh process then refused every event of the Service.
func TestWindowAtTheEdgeRefused(t *testing.T) {
	data := `{"window":{"start":"9999-12-31T00:00:00Z","end":"9999-12-31T23:59:59-23:59"},"versions":{"v1":{"errors":{"successes":1,"trials":2}}}}`
	e := event.New()
	e.SetID("edge")
	e.SetSource("/t")
	e.SetType(TypeMetricsObserved)
	e.SetSubject("default/shop")
	if err := e.SetData(ContentTypeJSON, []byte(data)); err != nil {
		t.Fatal(err)
	}
	_, err := DecodeMetricsObserved(e)
	if StatusOf(err) != 400 || !strings.Contains(err.Error(), "data.window.end: time \"9999-12-31T23:59:59-23:59\" is outside years 0001 to 9999") {
		t.Errorf("got %d %v, want 400 naming data.window.end", StatusOf(err), err)
	}
}
