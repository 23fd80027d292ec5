package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// ContentTypeStructured is the media type of a structured-mode CloudEvent.
const ContentTypeStructured = "application/cloudevents+json"

// contentTypeBatch is the media type of batched-mode CloudEvents, which
// Knative never delivers and iter8 does not take.
const contentTypeBatch = "application/cloudevents-batch+json"

// GuardStructuredJSON answers the requests the CloudEvents SDK would answer
// badly. The SDK replies 500 to a structured-mode body that is not JSON, and
// Knative retries 500, so a broken event would be delivered until its
// retries ran out; here it gets 400, which Knative does not retry. Bodies
// over maxBytes get 413 (also not retried) before anyone buffers them.
// Errors are JSON: {"error": "...", "status": N}.
func GuardStructuredJSON(next http.Handler, maxBytes int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBytes {
			writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is %d bytes, more than %d", r.ContentLength, maxBytes))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// Reading the whole body here, bounded, lets a too-large body be
		// answered 413 whatever the mode, instead of whatever status the SDK
		// gives a failed read.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeJSONError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is more than %d bytes", maxBytes))
				return
			}
			writeJSONError(w, http.StatusBadRequest, "reading body: "+err.Error())
			return
		}
		switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
		case ContentTypeStructured:
			trimmed := bytes.TrimSpace(body)
			if !json.Valid(trimmed) || len(trimmed) == 0 || trimmed[0] != '{' {
				writeJSONError(w, http.StatusBadRequest, "structured-mode CloudEvent must be a JSON object")
				return
			}
		case contentTypeBatch:
			// The SDK answers a batch with 500, which Knative retries.
			writeJSONError(w, http.StatusUnsupportedMediaType, "batched CloudEvents ("+contentTypeBatch+") are not accepted: send one event per request")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// WriteError answers a delivery that failed with err: StatusOf(err) and a
// JSON body naming the error, so that Knative retries exactly the transient
// failures.
func WriteError(w http.ResponseWriter, err error) {
	writeJSONError(w, StatusOf(err), err.Error())
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}{msg, status})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
