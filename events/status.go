package events

import (
	"errors"
	"fmt"
	"net/http"
)

// StatusError carries the HTTP status a function answers a delivery with,
// and so whether Knative Eventing retries it. Build one with Permanent or
// Transient; read it with StatusOf and IsPermanent through any wrapping.
type StatusError struct {
	Status    int
	permanent bool
	Err       error
}

func (e *StatusError) Error() string {
	kind := "transient"
	if e.permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s error (HTTP %d): %v", kind, e.Status, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

// Retried reports whether Knative Eventing's delivery retries a response with
// this status: on 5xx, 404, 408, 409 and 429 (knative.dev/eventing
// pkg/kncloudevents SelectiveRetry). A missing response is retried too.
func Retried(status int) bool {
	switch status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// Permanent marks err as a failure that retrying cannot fix: the event is
// malformed or invalid (400), too large (413), of the wrong content type
// (415), or names a Service or experiment that does not exist or conflicts
// (422). status must be a 4xx that Knative does not retry; any other status
// becomes 400, since a permanent error answered with a retried status would
// be delivered again and again.
func Permanent(status int, err error) error {
	if status < 400 || status >= 500 || Retried(status) {
		status = http.StatusBadRequest
	}
	return &StatusError{Status: status, permanent: true, Err: err}
}

// Transient marks err as a failure that a later delivery may not meet: the
// API server is unavailable (503) or conflicting updates went on after every
// retry (429 or 503). status must be one Knative retries; any other becomes
// 503.
func Transient(status int, err error) error {
	if !Retried(status) {
		status = http.StatusServiceUnavailable
	}
	return &StatusError{Status: status, Err: err}
}

// StatusOf returns the HTTP status to answer err with: 200 for nil, the
// status of the first StatusError in err's chain, and 500 (retried) for any
// other error, since an unclassified failure may be a passing one.
func StatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return http.StatusInternalServerError
}

// IsPermanent reports whether err, or an error it wraps, was made by
// Permanent.
func IsPermanent(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.permanent
}
