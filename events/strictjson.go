package events

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
)

// decodeStrict parses data into v, refusing what encoding/json would let
// through quietly and what the JSON Schemas refuse: syntax errors, nesting
// deeper than MaxDepth, unknown fields, fields that differ from the
// contract's names only in case, duplicate keys and null values. Failures are
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
		for i, m := range ms {
			p := Field(path, m.key)
			if i > 0 && ms[i-1].key == m.key {
				errs.Add(p, "duplicate field")
				continue
			}
			f, ok := fields[m.key]
			if !ok {
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
// a map would lose) so that they can be refused.
func members(raw []byte) ([]member, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		ms = append(ms, member{key, v})
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return nil, false
	}
	slices.SortStableFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	return ms, true
}

// jsonFields maps the exact JSON names of t's exported fields to the fields.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}
