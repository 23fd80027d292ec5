package events

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// decodeStrict parses data into v, refusing what encoding/json would let
// through quietly and what the JSON Schemas refuse: syntax errors, nesting
// deeper than MaxDepth, unknown fields, fields that differ from the
// contract's names only in case, duplicate keys, null values, and missing
// fields that Go always writes (those without omitempty). Failures are
// FieldErrors with the path of the offending value, which encoding/json does
// not give for unknown fields.
//
// The check walks the data against v's Go type before the standard decoder
// runs, so the standard decoder stays the one that fills in v.
func decodeStrict(data []byte, root string, v any) error {
	return decodeStrictDepth(data, root, v, MaxDepth)
}

// decodeStrictDepth is decodeStrict with a depth limit of maxDepth, so that
// tests can show the standard library's own limit holds behind ours.
func decodeStrictDepth(data []byte, root string, v any, maxDepth int) error {
	var errs FieldErrors
	if len(bytes.TrimSpace(data)) == 0 {
		errs.Add(root, "required")
		return errs
	}
	if err := checkDepth(data, maxDepth); err != nil {
		errs.Add(root, "%v", err)
		return errs
	}
	if !json.Valid(data) {
		var raw json.RawMessage
		err := json.Unmarshal(data, &raw)
		errs.Add(root, "invalid JSON: %v", err)
		return errs
	}
	t := reflect.TypeOf(v).Elem()
	walk(data, t, root, &errs)
	if len(errs) > 0 {
		return errs
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The walk should have caught everything the decoder refuses;
		// this is the backstop.
		errs.Add(root, "%v", err)
		return errs
	}
	return nil
}

// checkDepth reports nesting deeper than max without parsing, so that
// pathological input costs one pass over its bytes.
func checkDepth(data []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return fmt.Errorf("nested deeper than %d levels", max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// walk checks raw, a syntactically valid JSON value, against Go type t.
func walk(raw []byte, t reflect.Type, path string, errs *FieldErrors) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		errs.Add(path, "must not be null: omit the field instead")
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		walkLeaf(raw, t, path, errs)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		ms, ok := members(raw)
		if !ok {
			errs.Add(path, "must be an object")
			return
		}
		fields := jsonFields(t)
		present := map[string]bool{}
		for _, m := range ms {
			present[m.key] = true
		}
		for _, name := range sortedKeys(fields) {
			if !present[name] && !fields[name].optional {
				errs.Add(Field(path, name), "required")
			}
		}
		for i, m := range ms {
			p := Field(path, m.key)
			if i > 0 && ms[i-1].key == m.key {
				errs.Add(p, "duplicate field")
				continue
			}
			f, ok := fields[m.key]
			if !ok {
				if s := suggest(m.key, sortedKeys(fields)); s != "" {
					errs.Add(p, "unknown field (did you mean %q?)", s)
					continue
				}
				errs.Add(p, "unknown field")
				continue
			}
			walk(m.value, f.Type, p, errs)
		}
	case reflect.Map:
		ms, ok := members(raw)
		if !ok {
			errs.Add(path, "must be an object")
			return
		}
		for i, m := range ms {
			p := Key(path, m.key)
			if i > 0 && ms[i-1].key == m.key {
				errs.Add(p, "duplicate key")
				continue
			}
			walk(m.value, t.Elem(), p, errs)
		}
	case reflect.Slice:
		// Arrays of numbers or strings (histograms) are checked in one
		// decode; only a failure, or a null, pays for locating the element.
		if isScalar(t.Elem()) && raw[0] == '[' && !bytes.Contains(raw, []byte("null")) &&
			json.Unmarshal(raw, reflect.New(t).Interface()) == nil {
			return
		}
		var elems []json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
			errs.Add(path, "must be an array")
			return
		}
		for i, e := range elems {
			walk(e, t.Elem(), Index(path, i), errs)
		}
	default:
		walkLeaf(raw, t, path, errs)
	}
}

func isScalar(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

func walkLeaf(raw []byte, t reflect.Type, path string, errs *FieldErrors) {
	err := json.Unmarshal(raw, reflect.New(t).Interface())
	if err == nil {
		return
	}
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		errs.Add(path, "%v", err)
		return
	}
	switch t.Kind() {
	case reflect.String:
		errs.Add(path, "must be a string")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		errs.Add(path, "must be an integer in range, without fraction or exponent")
	case reflect.Float32, reflect.Float64:
		errs.Add(path, "must be a number in float64 range")
	case reflect.Bool:
		errs.Add(path, "must be true or false")
	default:
		errs.Add(path, "must be a %s", t.Kind())
	}
}

type member struct {
	key   string
	value json.RawMessage
}

// members lists an object's members sorted by key, keeping duplicates (which
// a map would lose) so that they can be refused. raw is valid JSON, checked
// before the walk, which keeps this scanner small.
func members(raw []byte) ([]member, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var ms []member
	i := skipSpace(raw, 1)
	for i < len(raw) && raw[i] != '}' {
		kend := valueEnd(raw, i)
		var key string
		if err := json.Unmarshal(raw[i:kend], &key); err != nil {
			return nil, false
		}
		i = skipSpace(raw, kend)
		if i >= len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
		vend := valueEnd(raw, i)
		ms = append(ms, member{key, raw[i:vend]})
		i = skipSpace(raw, vend)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	return ms, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the index just past the valid JSON value at b[i:].
func valueEnd(b []byte, i int) int {
	depth, inString, escaped := 0, false, false
	for j := i; j < len(b); j++ {
		c := b[j]
		switch {
		case escaped:
			escaped = false
		case inString:
			if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
				if depth == 0 {
					return j + 1
				}
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return j // the end of a literal, at its container's close
			}
			depth--
			if depth == 0 {
				return j + 1
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return j
		}
	}
	return len(b)
}

type jsonField struct {
	Type reflect.Type
	// optional fields are tagged omitempty: Go leaves them out when zero, so
	// their absence means zero. Every other field is always written, and
	// its absence on decode is an error, as the JSON Schemas require.
	optional bool
}

var fieldCache sync.Map // reflect.Type -> map[string]jsonField

// jsonFields maps the exact JSON names of t's exported fields to the fields.
func jsonFields(t reflect.Type) map[string]jsonField {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]jsonField)
	}
	out := make(map[string]jsonField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{Type: f.Type, optional: slices.Contains(strings.Split(opts, ","), "omitempty")}
	}
	fieldCache.Store(t, out)
	return out
}
