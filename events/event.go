package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// ContentTypeJSON is the only data content type iter8 reads and writes.
const ContentTypeJSON = "application/json"

// SchemaBase is the prefix of every dataschema URI. The version segment
// changes only with an incompatible change to the data.
const SchemaBase = "https://iter8.dev/schema/v1/"

// dataKind ties an event type to its data's Go type and checks.
type dataKind struct {
	goType reflect.Type
	// root begins every error path: "data", except for experiment.start,
	// whose data is a spec and whose paths read "spec..." as they do
	// wherever a spec is checked (kn-iter8, scenario files).
	root     string
	validate func(v any) error
}

func kindOf[T any](root string, validate func(T) error) dataKind {
	return dataKind{
		goType:   reflect.TypeFor[T](),
		root:     root,
		validate: func(v any) error { return validate(v.(T)) },
	}
}

// kinds lists every event type whose data this package knows. The Ping
// event is Knative's, not ours, and is not here.
var kinds = map[string]dataKind{
	TypeExperimentStart:     kindOf(specPath, ExperimentSpec.Validate),
	TypeMetricsObserved:     kindOf(dataPath, MetricsObserved.Validate),
	TypeExperimentControl:   kindOf(dataPath, Control.Validate),
	TypeExperimentCollect:   kindOf(dataPath, Collect.Validate),
	TypeExperimentStarted:   kindOf(dataPath, Started.Validate),
	TypeExperimentAssessed:  kindOf(dataPath, Assessed.Validate),
	TypeTrafficChanged:      kindOf(dataPath, TrafficChanged.Validate),
	TypeExperimentCompleted: kindOf(dataPath, Completed.Validate),
	TypeExperimentFailed:    kindOf(dataPath, Failed.Validate),
}

// Types returns every event type this package has data for, sorted.
func Types() []string { return sortedKeys(kinds) }

// SchemaName returns the base name of typ's JSON Schema file, such as
// "metrics.observed", or "" for a type this package does not know.
func SchemaName(typ string) string {
	if _, ok := kinds[typ]; !ok {
		return ""
	}
	return strings.TrimPrefix(typ, "dev.iter8.")
}

// SchemaURI returns the dataschema of typ's events, or "" for a type this
// package does not know.
func SchemaURI(typ string) string {
	if n := SchemaName(typ); n != "" {
		return SchemaBase + n + ".json"
	}
	return ""
}

// New builds an event of type typ about the Service named by subject
// ("<namespace>/<name>"), from source, at time at. data must be the Go type
// of typ's data (or a pointer to it) and valid. The id is a hash of
// everything else, so that re-emitting the same event yields the same id and
// consumers deduplicate it.
func New(typ, source, subject string, at time.Time, data any) (event.Event, error) {
	k, ok := kinds[typ]
	if !ok {
		return event.Event{}, fmt.Errorf("new event: unknown type %q", typ)
	}
	if rv := reflect.ValueOf(data); rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Type().Elem() == k.goType {
		data = rv.Elem().Interface()
	}
	if reflect.TypeOf(data) != k.goType {
		return event.Event{}, fmt.Errorf("new %s event: data is %T, want %v", typ, data, k.goType)
	}
	if source == "" {
		return event.Event{}, fmt.Errorf("new %s event: source is required", typ)
	}
	if _, _, err := ParseSubject(subject); err != nil {
		return event.Event{}, fmt.Errorf("new %s event: %w", typ, err)
	}
	if at.IsZero() {
		return event.Event{}, fmt.Errorf("new %s event: time is required", typ)
	}
	if err := k.validate(data); err != nil {
		return event.Event{}, fmt.Errorf("new %s event for %s: %w", typ, subject, err)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return event.Event{}, fmt.Errorf("new %s event for %s: %w", typ, subject, err)
	}
	if len(b) > MaxDataBytes {
		return event.Event{}, fmt.Errorf("new %s event for %s: data is %d bytes, more than %d", typ, subject, len(b), MaxDataBytes)
	}
	at = at.UTC()
	h := sha256.New()
	for _, part := range []string{typ, source, subject, at.Format(time.RFC3339Nano), string(b)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	e := event.New()
	e.SetID(hex.EncodeToString(h.Sum(nil)[:16]))
	e.SetType(typ)
	e.SetSource(source)
	e.SetSubject(subject)
	e.SetTime(at)
	e.SetDataSchema(SchemaURI(typ))
	e.SetDataContentType(ContentTypeJSON)
	e.DataEncoded = b
	if err := e.Validate(); err != nil {
		return event.Event{}, fmt.Errorf("new %s event for %s: %w", typ, subject, err)
	}
	return e, nil
}

// Decode checks an event of any type this package knows and returns its
// data as the type's Go value (MetricsObserved, Control, ExperimentSpec, ...).
// Failures are Permanent: 400 for a wrong type, subject, schema or data, 413
// for data over MaxDataBytes, 415 for a content type other than JSON.
func Decode(ce event.Event) (any, error) {
	k, ok := kinds[ce.Type()]
	if !ok {
		return nil, rejected(ce, http.StatusBadRequest, fmt.Errorf("unknown event type %s", Quote(ce.Type(), MaxEcho)))
	}
	return decodeKind(ce, k)
}

// DecodeMetricsObserved decodes and validates a TypeMetricsObserved event.
func DecodeMetricsObserved(ce event.Event) (MetricsObserved, error) {
	return decodeAs[MetricsObserved](ce, TypeMetricsObserved)
}

// DecodeControl decodes and validates a TypeExperimentControl event.
func DecodeControl(ce event.Event) (Control, error) {
	return decodeAs[Control](ce, TypeExperimentControl)
}

// DecodeExperimentCollect decodes and validates a TypeExperimentCollect
// event.
func DecodeExperimentCollect(ce event.Event) (Collect, error) {
	return decodeAs[Collect](ce, TypeExperimentCollect)
}

// DecodeExperimentStart decodes and validates a TypeExperimentStart event.
// The spec is returned as sent, without defaults.
func DecodeExperimentStart(ce event.Event) (ExperimentSpec, error) {
	return decodeAs[ExperimentSpec](ce, TypeExperimentStart)
}

func decodeAs[T any](ce event.Event, typ string) (T, error) {
	var zero T
	if ce.Type() != typ {
		return zero, rejected(ce, http.StatusBadRequest, fmt.Errorf("type %s, want %q", Quote(ce.Type(), MaxEcho), typ))
	}
	v, err := decodeKind(ce, kinds[typ])
	if err != nil {
		return zero, err
	}
	return v.(T), nil
}

func decodeKind(ce event.Event, k dataKind) (any, error) {
	if _, _, err := ParseSubject(ce.Subject()); err != nil {
		return nil, rejected(ce, http.StatusBadRequest, err)
	}
	if s := ce.DataSchema(); s != "" && s != SchemaURI(ce.Type()) {
		return nil, rejected(ce, http.StatusBadRequest, fmt.Errorf("dataschema %s, want %q or none", Quote(s, MaxEcho), SchemaURI(ce.Type())))
	}
	// An absent datacontenttype means JSON in the CloudEvents JSON format.
	if ct := ce.DataContentType(); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != ContentTypeJSON {
			return nil, rejected(ce, http.StatusUnsupportedMediaType, fmt.Errorf("datacontenttype %s, want %s", Quote(ct, MaxEcho), ContentTypeJSON))
		}
	}
	data := ce.Data()
	if len(data) > MaxDataBytes {
		return nil, rejected(ce, http.StatusRequestEntityTooLarge, fmt.Errorf("data is %d bytes, more than %d", len(data), MaxDataBytes))
	}
	v := reflect.New(k.goType)
	if err := decodeStrict(data, k.root, v.Interface()); err != nil {
		return nil, rejected(ce, http.StatusBadRequest, err)
	}
	if err := k.validate(v.Elem().Interface()); err != nil {
		return nil, rejected(ce, http.StatusBadRequest, err)
	}
	return v.Elem().Interface(), nil
}

// rejected names the event in a Permanent error, so that a log line or a
// reply says which delivery failed.
func rejected(ce event.Event, status int, err error) error {
	return Permanent(status, fmt.Errorf("event %s from %s (%s, subject %s): %w",
		Quote(ce.ID(), MaxEcho), Quote(ce.Source(), MaxEcho), Clip(ce.Type(), MaxEcho), Quote(ce.Subject(), MaxEcho), err))
}

// DedupeKey identifies a delivery: the CloudEvents spec makes source and id
// unique together. Knative delivers at least once; a consumer that has seen
// a key ignores the event. See DedupeKeyOf.
func DedupeKey(e event.Event) string { return DedupeKeyOf(e.Source(), e.ID()) }

// DedupeKeyOf is the dedupe key of an event from source with id:
// "<length of source>:<source> <id>". The length makes it unambiguous: a
// source may hold a space (an opaque URI or a query keeps it unescaped), so
// "source id" alone let the pause ("a", "b c") pass for the start
// ("a b", "c") and be dropped as its duplicate.
func DedupeKeyOf(source, id string) string {
	return strconv.Itoa(len(source)) + ":" + source + " " + id
}

// LegacyDedupeKey returns the key that iter8 before DedupeKeyOf gave the
// same event, "<source> <id>", or "" for a key DedupeKeyOf did not make.
// Dedupe windows written before an upgrade hold keys of that form; a store
// recognises them through it until they age out.
func LegacyDedupeKey(key string) string {
	n, rest, ok := strings.Cut(key, ":")
	size, err := strconv.Atoi(n)
	if !ok || err != nil || size < 0 || size >= len(rest) || rest[size] != ' ' || strconv.Itoa(size) != n {
		return ""
	}
	return rest
}

// WindowID identifies one metrics window of one Service from one source:
// the first 16 bytes of a SHA-256 over the three, in hex. It does not depend
// on the event id, so a producer that re-sends a window under a new id is
// still recognised. Times are compared as instants: the same window written
// in two time zones has one id.
func WindowID(service, source string, w Window) string {
	h := sha256.New()
	for _, part := range []string{service, source, w.Start.UTC().Format(time.RFC3339Nano), w.End.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// FieldErrorsOf returns the field errors in err's chain, or nil.
func FieldErrorsOf(err error) FieldErrors {
	var fe FieldErrors
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}
