package functions

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// FuzzServer posts arbitrary bodies, content types, CloudEvent attributes
// and headers to the functions over HTTP, in front of a fake API that never
// fails. headers is lines of "Name: value", each added to the request after
// the default of that name is dropped (so a name given twice is sent
// twice), or a bare "Name" that drops the header: it reaches every
// attribute (Ce-Specversion, Ce-Time, Ce-Source, Ce-Dataschema, ...), every
// extension and any other header. Whatever arrives, the answer is never a
// 5xx (which Knative would redeliver for ever: a bad event must be refused
// for good), a refusal's reply is at most events.MaxErrorReplyBytes, the
// handlers never panic, and the server still answers /healthz. One server
// serves every input, so experiments started by some inputs meet the
// windows and controls of others. Seeds are in testdata/fuzz/FuzzServer.
func FuzzServer(f *testing.F) {
	f.Add([]byte(specJSON), "application/json", events.TypeExperimentStart, "default/shop", "s-1", "")
	f.Add([]byte(window(`{"shop-v1":{"errors":{"successes":1,"trials":100}},"shop-v2":{"errors":{"successes":0,"trials":10}}}`)),
		"application/json", events.TypeMetricsObserved, "default/shop", "w-1", "Ce-Time: 2026-01-01T00:01:00Z")
	f.Add([]byte(`{"action":"promote","version":"shop-v2","reason":"fuzz"}`), "application/json", events.TypeExperimentControl, "default/shop", "c-1", "")
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"/s","type":"dev.iter8.experiment.control","subject":"default/shop","data":{"action":"abort"}}`),
		events.ContentTypeStructured, "", "", "", "")
	f.Add([]byte(`{}`), "application/json; charset=utf-8", events.TypePing, "", "p-1", "")
	f.Add([]byte(`[[[[[[[[[[]]]]]]]]]]`), "text/plain", "com.example", "a/b/c", "", "")
	// The outside corpus's attributes, binary and structured.
	for _, h := range []string{"Ce-Id: ", "Ce-Time: yesterday", "Ce-Source: /s%zz", "Ce-Dataschema: ::", "Ce-Time: 9999-12-31T23:59:59-23:59",
		"Ce-Time: 2026-01-01T00:00:00+24:00", "Ce-Specversion: 0.3", "Ce-Specversion", "Ce-Id: a\nCe-Id: b", "Ce-Trace-Id: 1", "Ce-Datacontenttype: text/plain"} {
		f.Add([]byte(`{"action":"pause"}`), "application/json", events.TypeExperimentControl, "default/shop", "h-1", h)
	}
	for _, member := range []string{`"time":"yesterday"`, `"data_base64":"not base64!"`, `"data_base64":7`, `"ext":{"a":1}`, `"subject":42`,
		`"data_base64":"e30="`, `"id":""`, `"id":null`, `"id":"y"`, `"specversion":1`} {
		f.Add([]byte(`{"specversion":"1.0","id":"x","source":"/s","type":"dev.iter8.experiment.control","subject":"default/shop","data":{"action":"pause"},`+member+`}`),
			events.ContentTypeStructured, "", "", "", "")
	}

	cs := fake.NewSimpleClientset(service("shop", true), service("legacy", false),
		revision("shop", "shop-v1"), revision("shop", "shop-v2"), service("idle", true))
	st := store.New(cs.ServingV1(), store.WithBackoff(wait.Backoff{Steps: 3, Duration: time.Millisecond}))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := New(st, WithClock(func() time.Time { return now }), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	handler, err := NewServer(h, st).Handler(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	// net/http would recover a handler's panic and drop the connection;
	// recording it here makes the panic the failure, with its stack.
	var panicked atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				panicked.Store(fmt.Sprintf("%v\n%s", p, debug.Stack()))
				panic(http.ErrAbortHandler)
			}
		}()
		handler.ServeHTTP(w, r)
	}))
	f.Cleanup(srv.Close)
	client := &http.Client{Timeout: 30 * time.Second}

	f.Fuzz(func(t *testing.T, body []byte, contentType, typ, subject, id, headers string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Source": "/fuzz", "Content-Type": contentType,
			"Ce-Type": typ, "Ce-Subject": subject, "Ce-Id": id} {
			// Only what an HTTP client can send: no control characters.
			if v = headerSafe(v); v != "" {
				req.Header.Set(k, v)
			}
		}
		overridden := map[string]bool{}
		for _, line := range strings.Split(headers, "\n") {
			name, value, set := strings.Cut(line, ":")
			name = strings.TrimSpace(name)
			if !validHeaderName(name) {
				continue
			}
			if !overridden[http.CanonicalHeaderKey(name)] {
				req.Header.Del(name)
				overridden[http.CanonicalHeaderKey(name)] = true
			}
			if set {
				req.Header.Add(name, headerSafe(value))
			}
		}
		resp, err := client.Do(req)
		if p := panicked.Load(); p != nil {
			t.Fatalf("handler panicked: %s", p)
		}
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d to a request the fake API cannot fail: %s", resp.StatusCode, answer)
		}
		if resp.StatusCode >= 400 && len(answer) > events.MaxErrorReplyBytes {
			t.Fatalf("a refusal of %d bytes, over the cap of %d", len(answer), events.MaxErrorReplyBytes)
		}
		health, err := client.Get(srv.URL + "/healthz")
		if err != nil || health.StatusCode != http.StatusOK {
			t.Fatalf("healthz after the input: %v %v", err, health)
		}
		health.Body.Close()
	})
}

// validHeaderName is a header name net/http sends: a non-empty token.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// headerSafe drops what net/http refuses in a header value.
func headerSafe(v string) string {
	v = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, v)
	return strings.TrimSpace(v)
}
