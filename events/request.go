package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// ContentTypeStructured is the media type of a structured-mode CloudEvent.
const ContentTypeStructured = "application/cloudevents+json"

// contentTypeBatch is the media type of batched-mode CloudEvents, which
// Knative never delivers and iter8 does not take.
const contentTypeBatch = "application/cloudevents-batch+json"

// SpecVersion is the one CloudEvents version iter8 reads, the one Knative
// sends.
const SpecVersion = "1.0"

// ReadRequest reads one CloudEvent from an HTTP request, in binary or
// structured mode, and refuses anything that is not a well-formed one with
// a Permanent error naming the attribute: 413 for a body over maxBytes
// (checked on Content-Length and while reading), 415 for what is not a
// CloudEvent iter8 reads (no Ce-Specversion and not structured, another
// specversion or event format, a batch), and 400 for everything else. The
// CloudEvents SDK answers most of these 500, which Knative retries until
// the dead-letter sink; so every attribute is checked here first (see
// checkAttributes), and the SDK only then builds the event. Its data is
// checked later, by Decode.
func ReadRequest(r *http.Request, maxBytes int64) (event.Event, error) {
	body, err := readBody(r, maxBytes)
	if err != nil {
		return event.Event{}, err
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	var attrs []attribute
	switch {
	case mt == contentTypeBatch:
		return event.Event{}, Permanent(http.StatusUnsupportedMediaType, fmt.Errorf("batched CloudEvents (%s) are not accepted: send one event per request", contentTypeBatch))
	case mt == ContentTypeStructured:
		if attrs, err = structuredAttributes(body); err != nil {
			return event.Event{}, err
		}
	case strings.HasPrefix(mt, "application/cloudevents"):
		return event.Event{}, Permanent(http.StatusUnsupportedMediaType, fmt.Errorf("event format %s is not read: send %s or binary mode", Quote(mt, MaxEcho), ContentTypeStructured))
	case len(r.Header.Values("Ce-Specversion")) == 0:
		return event.Event{}, Permanent(http.StatusUnsupportedMediaType, errors.New("not a CloudEvent: no Ce-Specversion header (binary mode) and Content-Type is not "+ContentTypeStructured+" (structured mode)"))
	default:
		if attrs, err = binaryAttributes(r.Header); err != nil {
			return event.Event{}, err
		}
	}
	if err := checkAttributes(attrs); err != nil {
		return event.Event{}, err
	}
	// Every attribute is sound: the SDK builds the event as it always has.
	// Anything it still refuses is the sender's doing too, so it is a 400.
	e, err := sdkEvent(r, body)
	if err != nil {
		return event.Event{}, Permanent(http.StatusBadRequest, fmt.Errorf("malformed CloudEvent: %s", Clip(err.Error(), 2*MaxEcho)))
	}
	return e, nil
}

// sdkEvent builds the event with the SDK. The SDK panics on some input
// (a structured "data_base64" that is not a string slices out of range);
// its own receive handler does that on a goroutine of its own, where the
// panic ends the process. Here a panic is one more malformed event.
func sdkEvent(r *http.Request, body []byte) (e event.Event, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the CloudEvents SDK failed on it: %v", p)
		}
	}()
	req := r.Clone(r.Context())
	req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	got, err := binding.ToEvent(context.Background(), cehttp.NewMessageFromHttpRequest(req))
	if err != nil {
		return event.Event{}, err
	}
	if err := got.Validate(); err != nil {
		return event.Event{}, err
	}
	return *got, nil
}

// readBody reads the whole body, at most maxBytes of it.
func readBody(r *http.Request, maxBytes int64) ([]byte, error) {
	if r.ContentLength > maxBytes {
		return nil, Permanent(http.StatusRequestEntityTooLarge, fmt.Errorf("body is %d bytes, more than %d", r.ContentLength, maxBytes))
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	switch {
	case err != nil:
		return nil, Permanent(http.StatusBadRequest, fmt.Errorf("reading body: %w", err))
	case int64(len(body)) > maxBytes:
		return nil, Permanent(http.StatusRequestEntityTooLarge, fmt.Errorf("body is more than %d bytes", maxBytes))
	}
	return body, nil
}

// attribute is one context attribute as sent: its name, where it was
// found (for the message), and its JSON value (binary mode's are strings).
type attribute struct {
	name, where string
	value       json.RawMessage
	// structured is true for a member of a structured-mode body, which
	// holds the data and its content type as members too.
	structured bool
}

// binaryAttributes reads the Ce- headers.
func binaryAttributes(h http.Header) ([]attribute, error) {
	var attrs []attribute
	var errs FieldErrors
	for _, k := range sortedKeys(h) {
		if len(k) < 3 || !strings.EqualFold(k[:3], "ce-") {
			continue
		}
		name, vs := strings.ToLower(k[3:]), h[k]
		if len(vs) > 1 {
			errs.Add(headerName(name), "given %d times, want once", len(vs))
			continue
		}
		v, _ := json.Marshal(vs[0])
		attrs = append(attrs, attribute{name: name, where: headerName(name), value: v})
	}
	if err := errs.Err(); err != nil {
		return nil, Permanent(http.StatusBadRequest, err)
	}
	return attrs, nil
}

// headerName is how an attribute is named in binary mode.
func headerName(attr string) string {
	if attr == "" {
		return "Ce-"
	}
	return "Ce-" + strings.ToUpper(attr[:1]) + attr[1:]
}

// structuredAttributes reads the members of a structured-mode body.
func structuredAttributes(body []byte) ([]attribute, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, Permanent(http.StatusBadRequest, errors.New("structured-mode CloudEvent must be a JSON object"))
	}
	// The envelope is one level over the data, which Decode holds to
	// MaxDepth.
	if err := checkDepth(trimmed, MaxDepth+1); err != nil {
		return nil, Permanent(http.StatusBadRequest, fmt.Errorf("structured-mode CloudEvent: %w", err))
	}
	ms, ok := members(trimmed)
	if !ok {
		return nil, Permanent(http.StatusBadRequest, errors.New("structured-mode CloudEvent must be a JSON object"))
	}
	attrs := make([]attribute, 0, len(ms))
	var errs FieldErrors
	for i, m := range ms {
		if i > 0 && ms[i-1].key == m.key {
			errs.Add(Quote(m.key, MaxEcho), "duplicate key")
			continue
		}
		where := m.key
		if !validAttributeName(m.key) && m.key != "data_base64" {
			where = Quote(m.key, MaxEcho)
		}
		attrs = append(attrs, attribute{name: m.key, where: where, value: m.value, structured: true})
	}
	if err := errs.Err(); err != nil {
		return nil, Permanent(http.StatusBadRequest, err)
	}
	return attrs, nil
}
