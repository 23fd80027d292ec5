package events

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// binary is a well-formed binary-mode control event, with headers
// changed: an empty value sends the header empty, a value "-" drops it.
func binary(change map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"action":"pause"}`))
	for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "x", "Ce-Source": "/s",
		"Ce-Type": TypeExperimentControl, "Ce-Subject": "default/shop", "Content-Type": "application/json"} {
		r.Header.Set(k, v)
	}
	for k, v := range change {
		if v == "-" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	return r
}

// structured is a structured-mode event: members of a well-formed control
// event, with members changed (raw JSON; "-" drops the member), then
// extra raw members appended as written (duplicates included).
func structured(change map[string]string, extra ...string) *http.Request {
	ms := map[string]string{"specversion": `"1.0"`, "id": `"x"`, "source": `"/s"`, "type": `"` + TypeExperimentControl + `"`,
		"subject": `"default/shop"`, "datacontenttype": `"application/json"`, "data": `{"action":"pause"}`}
	for k, v := range change {
		if v == "-" {
			delete(ms, k)
		} else {
			ms[k] = v
		}
	}
	var parts []string
	for _, k := range sortedKeys(ms) {
		parts = append(parts, `"`+k+`":`+ms[k])
	}
	parts = append(parts, extra...)
	return raw(ContentTypeStructured, "{"+strings.Join(parts, ",")+"}")
}

func raw(contentType, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	return r
}

type requestCase struct {
	name    string
	request func() *http.Request
	status  int
	// says is the whole error message.
	says string
}

var (
	long  = strings.Repeat("i", MaxAttributeBytes+1)
	edge  = "9999-12-31T23:59:59-23:59"
	bad64 = `"not base64!"`
)

// malformed is the corpus of requests that are not well-formed CloudEvents,
// each with its status and whole message. Every status is a 4xx that
// Knative does not retry.
var malformed = []requestCase{
	{"binary: Ce-Id empty", func() *http.Request { return binary(map[string]string{"Ce-Id": ""}) }, 400, "Ce-Id: must not be empty"},
	{"binary: Ce-Id over the limit", func() *http.Request { return binary(map[string]string{"Ce-Id": long}) }, 400, "Ce-Id: must be at most 4096 bytes, got 4097"},
	{"binary: no Ce-Id", func() *http.Request { return binary(map[string]string{"Ce-Id": "-"}) }, 400, "Ce-Id: required"},
	{"binary: no Ce-Source", func() *http.Request { return binary(map[string]string{"Ce-Source": "-"}) }, 400, "Ce-Source: required"},
	{"binary: no Ce-Type", func() *http.Request { return binary(map[string]string{"Ce-Type": "-"}) }, 400, "Ce-Type: required"},
	{"binary: Ce-Type empty", func() *http.Request { return binary(map[string]string{"Ce-Type": ""}) }, 400, "Ce-Type: must not be empty"},
	{"binary: Ce-Subject empty", func() *http.Request { return binary(map[string]string{"Ce-Subject": ""}) }, 400, "Ce-Subject: must not be empty"},
	{"binary: Ce-Time yesterday", func() *http.Request { return binary(map[string]string{"Ce-Time": "yesterday"}) }, 400,
		`Ce-Time: time must be RFC 3339 (such as 2026-01-02T15:04:05Z) with a year from 0001 to 9999 and an offset within ±23:59, got "yesterday"`},
	{"binary: Ce-Time +24:00", func() *http.Request { return binary(map[string]string{"Ce-Time": "2026-01-01T00:00:00+24:00"}) }, 400,
		`Ce-Time: time must be RFC 3339 (such as 2026-01-02T15:04:05Z) with a year from 0001 to 9999 and an offset within ±23:59, got "2026-01-01T00:00:00+24:00"`},
	{"binary: Ce-Time year 10000 in UTC", func() *http.Request { return binary(map[string]string{"Ce-Time": edge}) }, 400,
		`Ce-Time: time "9999-12-31T23:59:59-23:59" is outside years 0001 to 9999 in UTC, or too near their edge: write it in UTC`},
	{"binary: Ce-Source broken percent-escape", func() *http.Request { return binary(map[string]string{"Ce-Source": "/s%zz"}) }, 400,
		`Ce-Source: not a URI-reference: invalid URL escape "%zz"`},
	{"binary: Ce-Dataschema ::", func() *http.Request { return binary(map[string]string{"Ce-Dataschema": "::"}) }, 400,
		"Ce-Dataschema: not a URI: missing protocol scheme"},
	{"binary: Ce-Dataschema relative", func() *http.Request { return binary(map[string]string{"Ce-Dataschema": "/schema.json"}) }, 400,
		`Ce-Dataschema: not an absolute URI: "/schema.json"`},
	{"binary: Ce-Id twice", func() *http.Request { r := binary(nil); r.Header.Add("Ce-Id", "y"); return r }, 400, "Ce-Id: given 2 times, want once"},
	{"binary: extension name with a hyphen", func() *http.Request { return binary(map[string]string{"Ce-Trace-Id": "1"}) }, 400,
		"Ce-Trace-id: extension name must be lower-case letters and digits"},
	{"binary: Ce-Datacontenttype", func() *http.Request { return binary(map[string]string{"Ce-Datacontenttype": "application/json"}) }, 400,
		"Ce-Datacontenttype: not a header in binary mode: the data is the body, its type the Content-Type"},
	{"binary: no Ce-Specversion", func() *http.Request { return binary(map[string]string{"Ce-Specversion": "-"}) }, 415,
		"not a CloudEvent: no Ce-Specversion header (binary mode) and Content-Type is not application/cloudevents+json (structured mode)"},
	{"binary: Ce-Specversion 0.3", func() *http.Request { return binary(map[string]string{"Ce-Specversion": "0.3"}) }, 415, `Ce-Specversion: CloudEvents "0.3", want 1.0`},
	{"binary: Ce-Specversion empty", func() *http.Request { return binary(map[string]string{"Ce-Specversion": ""}) }, 415, `Ce-Specversion: CloudEvents "", want 1.0`},
	{"binary: body over the limit", func() *http.Request {
		r := binary(nil)
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(strings.Repeat(" ", MaxEventBytes+1))), MaxEventBytes+1
		return r
	}, 413, "body is 524289 bytes, more than 524288"},
	{"binary: body over the limit, length unknown", func() *http.Request {
		r := binary(nil)
		r.Body, r.ContentLength = io.NopCloser(strings.NewReader(strings.Repeat(" ", MaxEventBytes+1))), -1
		return r
	}, 413, "body is more than 524288 bytes"},
	{"structured: time yesterday", func() *http.Request { return structured(map[string]string{"time": `"yesterday"`}) }, 400,
		`time: time must be RFC 3339 (such as 2026-01-02T15:04:05Z) with a year from 0001 to 9999 and an offset within ±23:59, got "yesterday"`},
	{"structured: time a number", func() *http.Request { return structured(map[string]string{"time": `1700000000`}) }, 400, "time: must be a string, got a number"},
	{"structured: time year 10000 in UTC", func() *http.Request { return structured(map[string]string{"time": `"` + edge + `"`}) }, 400,
		`time: time "9999-12-31T23:59:59-23:59" is outside years 0001 to 9999 in UTC, or too near their edge: write it in UTC`},
	{"structured: data_base64 not base64", func() *http.Request { return structured(map[string]string{"data": "-", "data_base64": bad64}) }, 400,
		"data_base64: not base64: illegal base64 data at input byte 3"},
	{"structured: data_base64 a number", func() *http.Request { return structured(map[string]string{"data": "-", "data_base64": "7"}) }, 400, "data_base64: must be a string"},
	{"structured: data and data_base64", func() *http.Request { return structured(map[string]string{"data_base64": `"e30="`}) }, 400,
		"data_base64: data and data_base64 are exclusive: send one"},
	{"structured: extension an object", func() *http.Request { return structured(map[string]string{"traceparent": `{"a":1}`}) }, 400,
		"traceparent: must be a string, a boolean or an integer, got an object"},
	{"structured: extension an array", func() *http.Request { return structured(map[string]string{"ext": `[1]`}) }, 400,
		"ext: must be a string, a boolean or an integer, got an array"},
	{"structured: extension a fraction", func() *http.Request { return structured(map[string]string{"ext": `1.5`}) }, 400, "ext: a number must be an integer in 32 bits"},
	{"structured: extension over 32 bits", func() *http.Request { return structured(map[string]string{"ext": `2147483648`}) }, 400, "ext: a number must be an integer in 32 bits"},
	{"structured: extension null", func() *http.Request { return structured(map[string]string{"ext": `null`}) }, 400, "ext: null: omit the attribute instead"},
	{"structured: extension name upper case", func() *http.Request { return structured(map[string]string{"Ext": `"1"`}) }, 400,
		`"Ext": extension name must be lower-case letters and digits`},
	{"structured: extension value over the limit", func() *http.Request { return structured(map[string]string{"ext": `"` + long + `"`}) }, 400,
		"ext: must be at most 4096 bytes, got 4097"},
	{"structured: subject 42", func() *http.Request { return structured(map[string]string{"subject": `42`}) }, 400, "subject: must be a string, got a number"},
	{"structured: id empty", func() *http.Request { return structured(map[string]string{"id": `""`}) }, 400, "id: must not be empty"},
	{"structured: id null", func() *http.Request { return structured(map[string]string{"id": `null`}) }, 400, "id: null: omit the attribute instead"},
	{"structured: id twice", func() *http.Request { return structured(nil, `"id":"y"`) }, 400, `"id": duplicate key`},
	{"structured: source broken percent-escape", func() *http.Request { return structured(map[string]string{"source": `"%"`}) }, 400,
		`source: not a URI-reference: invalid URL escape "%"`},
	{"structured: dataschema ::", func() *http.Request { return structured(map[string]string{"dataschema": `"::"`}) }, 400, "dataschema: not a URI: missing protocol scheme"},
	{"structured: datacontenttype not a media type", func() *http.Request { return structured(map[string]string{"datacontenttype": `"json;"`}) }, 400,
		`datacontenttype: not a media type: "json" has no slash`},
	{"structured: datacontenttype text/plain", func() *http.Request { return structured(map[string]string{"datacontenttype": `"text/plain"`}) }, 415,
		`datacontenttype "text/plain", want application/json`},
	{"structured: type an object", func() *http.Request { return structured(map[string]string{"type": `{}`}) }, 400, "type: must be a string, got an object"},
	{"structured: no specversion", func() *http.Request { return structured(map[string]string{"specversion": "-"}) }, 400, "specversion: required"},
	{"structured: specversion a number", func() *http.Request { return structured(map[string]string{"specversion": "1"}) }, 400, "specversion: must be a string"},
	{"structured: specversion 0.3", func() *http.Request { return structured(map[string]string{"specversion": `"0.3"`}) }, 415, `specversion: CloudEvents "0.3", want 1.0`},
	{"structured: no id, source or type", func() *http.Request { return structured(map[string]string{"id": "-", "source": "-", "type": "-"}) }, 400,
		"id: required; source: required; type: required"},
	{"structured: every fault at once", func() *http.Request {
		return structured(map[string]string{"id": `""`, "time": `"yesterday"`, "subject": "42", "ext": "{}"})
	}, 400, `ext: must be a string, a boolean or an integer, got an object; id: must not be empty; subject: must be a string, got a number; time: time must be RFC 3339 (such as 2026-01-02T15:04:05Z) with a year from 0001 to 9999 and an offset within ±23:59, got "yesterday"`},
	{"structured: not an object", func() *http.Request { return raw(ContentTypeStructured, `[1,2]`) }, 400, "structured-mode CloudEvent must be a JSON object"},
	{"structured: broken JSON", func() *http.Request { return raw(ContentTypeStructured, `{"specversion":"1.0",`) }, 400, "structured-mode CloudEvent must be a JSON object"},
	{"structured: empty", func() *http.Request { return raw(ContentTypeStructured, ``) }, 400, "structured-mode CloudEvent must be a JSON object"},
	{"structured: nested 40 deep", func() *http.Request {
		return structured(map[string]string{"data": strings.Repeat("[", 40) + strings.Repeat("]", 40)})
	}, 400, "structured-mode CloudEvent: nested deeper than 33 levels"},
	{"batched mode", func() *http.Request { return raw("application/cloudevents-batch+json", `[{"specversion":"1.0"}]`) }, 415,
		"batched CloudEvents (application/cloudevents-batch+json) are not accepted: send one event per request"},
	{"another event format", func() *http.Request { return raw("application/cloudevents+avro", `x`) }, 415,
		`event format "application/cloudevents+avro" is not read: send application/cloudevents+json or binary mode`},
}

// TestReadRequestRefuses checks every malformed request's status and whole
// message, and that Knative retries none of them.
func TestReadRequestRefuses(t *testing.T) {
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRequest(tc.request(), MaxEventBytes)
			if got := StatusOf(err); got != tc.status || Retried(got) {
				t.Errorf("status %d, want %d: %v", got, tc.status, err)
			}
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not classified", err)
			}
			if diff := cmp.Diff(tc.says, se.Err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadRequestAccepts checks well-formed events in both modes, with
// extensions of every kind, at the edges of the rules.
func TestReadRequestAccepts(t *testing.T) {
	for name, r := range map[string]*http.Request{
		"binary":                       binary(nil),
		"binary, extensions and time":  binary(map[string]string{"Ce-Traceparent": "00-1-2-01", "Ce-Knativearrivaltime": "2026-01-01T00:00:00Z", "Ce-Time": "9999-12-31T23:59:59+23:59"}),
		"binary, dataschema":           binary(map[string]string{"Ce-Dataschema": SchemaURI(TypeExperimentControl)}),
		"binary, no body":              func() *http.Request { r := binary(nil); r.Body, r.ContentLength = http.NoBody, 0; return r }(),
		"structured":                   structured(nil),
		"structured, data_base64":      structured(map[string]string{"data": "-", "data_base64": `"eyJhY3Rpb24iOiJwYXVzZSJ9"`}),
		"structured, extensions":       structured(map[string]string{"ext": `"s"`, "flag": "true", "n": "-2147483648", "m": "2147483647"}),
		"structured, time with offset": structured(map[string]string{"time": `"0001-01-01T00:00:00-23:59"`}),
		"structured, charset": func() *http.Request {
			r := structured(nil)
			r.Header.Set("Content-Type", ContentTypeStructured+"; charset=utf-8")
			return r
		}(),
		"structured, data nested 32 deep": structured(map[string]string{"data": strings.Repeat("[", 32) + strings.Repeat("]", 32)}),
	} {
		e, err := ReadRequest(r, MaxEventBytes)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if e.ID() != "x" || e.Type() != TypeExperimentControl {
			t.Errorf("%s: read %v", name, e)
		}
		if strings.HasPrefix(name, "structured, data_base64") || name == "binary" {
			var c Control
			if err := json.Unmarshal(e.Data(), &c); err != nil || c.Action != "pause" {
				t.Errorf("%s: data %q: %v", name, e.Data(), err)
			}
		}
	}
}
