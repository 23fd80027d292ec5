package events

import (
	"fmt"
	"strconv"
	"strings"
)

// FieldError is one validation failure at a path into an event's data, such
// as `data.versions["shop-v2"].errors.successes`. Paths are for people: they
// name the offending field the way a user wrote it, so that a rejected event
// can be fixed without reading Go code.
type FieldError struct {
	Path    string
	Message string
}

// Error returns "path: message".
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// FieldErrors collects every failure of one validation rather than the first,
// so that a producer sees all its mistakes in one reply. Validators add
// errors in a deterministic order (map keys sorted) so messages are stable.
type FieldErrors []FieldError

// Error joins the failures with "; ".
func (e FieldErrors) Error() string {
	parts := make([]string, len(e))
	for i, fe := range e {
		parts[i] = fe.Error()
	}
	return strings.Join(parts, "; ")
}

// Add records a failure at path; format and args are as for fmt.Sprintf.
func (e *FieldErrors) Add(path, format string, args ...any) {
	*e = append(*e, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// checkLen checks the length n of a list or map at path that holds nouns:
// present (isNil is false), at least least (0 or 1) and at most most of
// them. It reports whether the items are worth checking one by one: false
// when the list is missing or too short.
func checkLen(path string, isNil bool, n int, noun string, least, most int, errs *FieldErrors) bool {
	switch {
	case isNil:
		errs.Add(path, "required")
		return false
	case n < least:
		errs.Add(path, "must have at least one %s", noun)
		return false
	case n > most:
		errs.Add(path, "must have at most %d %ss, got %d", most, noun, n)
	}
	return true
}

// Err returns nil when there are no failures, so that a validator can end
// with `return errs.Err()` without returning a typed nil.
func (e FieldErrors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Unwrap exposes each failure to errors.As and errors.Is.
func (e FieldErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, fe := range e {
		out[i] = fe
	}
	return out
}

// Key returns path["key"], the path of a map entry.
func Key(path, key string) string { return path + "[" + strconv.Quote(key) + "]" }

// Index returns path[i], the path of a list element.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// Field returns path.name, the path of a struct field.
func Field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
