package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{Permanent(422, errors.New("no experiment")), 422},
		{Transient(503, errors.New("api down")), 503},
		{errors.New("plain"), 500},
	} {
		rec := httptest.NewRecorder()
		WriteError(rec, tc.err)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		got := map[string]any{"code": rec.Code, "status": body["status"], "error": body["error"]}
		want := map[string]any{"code": tc.want, "status": float64(tc.want), "error": tc.err.Error()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}

// TestErrorBodyBounded checks the reply's cap exactly: a message that fits
// is written whole, one byte more is clipped to exactly the cap, and a
// message of 400 KB, of quotes, of control characters or of broken UTF-8
// still yields valid JSON of at most MaxErrorReplyBytes.
func TestErrorBodyBounded(t *testing.T) {
	overhead := len(errorBody(400, ""))
	if overhead != len(`{"error":"","status":400}`+"\n") {
		t.Fatalf("empty body is %d bytes", overhead)
	}
	fit := strings.Repeat("x", MaxErrorReplyBytes-overhead)
	for name, tc := range map[string]struct {
		msg       string
		wantLen   int
		wantWhole bool
	}{
		"fits exactly":    {fit, MaxErrorReplyBytes, true},
		"one byte over":   {fit + "y", MaxErrorReplyBytes, false},
		"400 KB":          {strings.Repeat("i", 400<<10), MaxErrorReplyBytes, false},
		"quotes":          {strings.Repeat(`"`, 4096), MaxErrorReplyBytes, false},
		"control":         {strings.Repeat("\x01", 4096), MaxErrorReplyBytes, false},
		"broken UTF-8":    {strings.Repeat("\xff", 4096), MaxErrorReplyBytes, false},
		"multibyte runes": {strings.Repeat("é", 4096), MaxErrorReplyBytes, false},
	} {
		b := errorBody(400, tc.msg)
		var got struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		if err := json.Unmarshal(b, &got); err != nil || got.Status != 400 || !utf8.Valid(b) {
			t.Errorf("%s: body %q is not valid JSON: %v", name, b, err)
		}
		if len(b) != tc.wantLen {
			t.Errorf("%s: body is %d bytes, want %d (cap %d)", name, len(b), tc.wantLen, MaxErrorReplyBytes)
		}
		if whole := got.Error == tc.msg; whole != tc.wantWhole {
			t.Errorf("%s: message whole %v, want %v", name, whole, tc.wantWhole)
		}
		if !tc.wantWhole && !strings.HasSuffix(got.Error, "...(clipped)") {
			t.Errorf("%s: clipped message does not say so: ...%q", name, got.Error[max(0, len(got.Error)-20):])
		}
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"short", "short"},
		{strings.Repeat("a", 8), strings.Repeat("a", 8)},
		{strings.Repeat("a", 9), "aaaaaaaa...(9 bytes)"},
		{"aaaaaaa" + "é", "aaaaaaa...(9 bytes)"}, // never half a rune
	} {
		if got := Clip(tc.in, 8); got != tc.want {
			t.Errorf("Clip(%q, 8) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestReceiver checks the handler end to end: a well-formed event reaches
// fn and its reply is written as a CloudEvent; a refusal never does, and
// is counted.
func TestReceiver(t *testing.T) {
	var got []string
	refused := map[int]int{}
	h := Receiver(func(_ context.Context, e event.Event) (*event.Event, error) {
		got = append(got, e.ID())
		if e.ID() == "fail" {
			return nil, Permanent(422, errors.New("no experiment"))
		}
		r := event.New()
		r.SetID("reply")
		r.SetSource("/iter8")
		r.SetType("dev.iter8.reply")
		return &r, nil
	}, 1<<10, func(status int) { refused[status]++ })
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := serve(binary(nil))
	if rec.Code != 200 || rec.Header().Get("Ce-Id") != "reply" {
		t.Errorf("valid event: %d %v", rec.Code, rec.Header())
	}
	if rec = serve(binary(map[string]string{"Ce-Id": "fail"})); rec.Code != 422 || rec.Body.String() != `{"error":"permanent error (HTTP 422): no experiment","status":422}`+"\n" {
		t.Errorf("refused by fn: %d %s", rec.Code, rec.Body)
	}
	if rec = serve(binary(map[string]string{"Ce-Id": ""})); rec.Code != 400 {
		t.Errorf("empty id: %d %s", rec.Code, rec.Body)
	}
	if rec = serve(httptest.NewRequest(http.MethodGet, "/", nil)); rec.Code != 405 || rec.Header().Get("Allow") != "POST" {
		t.Errorf("GET: %d %v", rec.Code, rec.Header())
	}
	if diff := cmp.Diff([]string{"x", "fail"}, got); diff != "" {
		t.Errorf("events handled (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]int{400: 1}, refused); diff != "" {
		t.Errorf("refusals counted (-want +got):\n%s", diff)
	}
}

// sdkPanics names the corpus case on which the SDK panics: see
// TestSDKPanicsOnDataBase64.
const sdkPanics = "structured: data_base64 a number"

// TestSDKPanicsOnDataBase64 keeps on record that the SDK panics on a
// structured "data_base64" that is not a string; its receive handler runs
// on a goroutine of its own, so the panic ended the process. ReadRequest
// refuses it first, and recovers should the SDK panic on something else.
func TestSDKPanicsOnDataBase64(t *testing.T) {
	body := []byte(`{"specversion":"1.0","id":"x","source":"/s","type":"t","data_base64":7}`)
	panicked := func() (p any) {
		defer func() { p = recover() }()
		var e event.Event
		_ = json.Unmarshal(body, &e)
		return nil
	}()
	if panicked == nil {
		t.Errorf("the SDK no longer panics on a numeric data_base64")
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", ContentTypeStructured)
	if _, err := sdkEvent(req, body); err == nil || !strings.Contains(err.Error(), "the CloudEvents SDK failed on it") {
		t.Errorf("sdkEvent did not recover: %v", err)
	}
}

// TestSDKAnswersMalformedWith5xx keeps the reason for ReadRequest on
// record: the CloudEvents SDK's own receive handler answers the corpus's
// malformed events with 500, which Knative retries, where the Receiver
// answers each with its 4xx. Should an SDK upgrade fix them, this test
// says so.
func TestSDKAnswersMalformedWith5xx(t *testing.T) {
	p, err := cloudevents.NewHTTP()
	if err != nil {
		t.Fatal(err)
	}
	sdk, err := cloudevents.NewHTTPReceiveHandler(context.Background(), p, func(context.Context, cloudevents.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ours := Receiver(func(context.Context, event.Event) (*event.Event, error) { return nil, nil }, MaxEventBytes, nil)
	var sdk5xx []string
	for _, tc := range malformed {
		rec := httptest.NewRecorder()
		if tc.name == sdkPanics {
			// The SDK's handler panics on a goroutine of its own, which
			// would end this test binary as it ended the server.
			sdk5xx = append(sdk5xx, tc.name+" (panic)")
		} else if sdk.ServeHTTP(rec, tc.request()); rec.Code >= 500 {
			sdk5xx = append(sdk5xx, tc.name)
		}
		rec = httptest.NewRecorder()
		ours.ServeHTTP(rec, tc.request())
		if rec.Code != tc.status {
			t.Errorf("%s: Receiver answered %d, want %d", tc.name, rec.Code, tc.status)
		}
	}
	t.Logf("the SDK alone answers %d of %d malformed requests with 5xx: %s", len(sdk5xx), len(malformed), strings.Join(sdk5xx, "; "))
	for _, name := range []string{"binary: Ce-Id empty", "binary: Ce-Time yesterday", "binary: Ce-Source broken percent-escape", "binary: Ce-Dataschema ::",
		"structured: time yesterday", "structured: data_base64 not base64", "structured: extension an object", "structured: subject 42"} {
		if !strings.Contains(strings.Join(sdk5xx, "\n")+"\n", name+"\n") {
			t.Errorf("the SDK no longer answers %q with 5xx: the outside corpus's finding is fixed upstream", name)
		}
	}
}
