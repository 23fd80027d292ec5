package events

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// MaxAttributeBytes is the longest value of any one context attribute or
// extension. An id, a source or a subject is logged and its dedupe key
// hashed; none needs more.
const MaxAttributeBytes = 4096

// attributeRule checks one attribute's value, decoded from JSON.
type attributeRule func(v any) error

// rules are the CloudEvents 1.0 context attributes iter8 knows, each with
// its rule; any other name is an extension. required marks those every
// event must have.
var rules = map[string]struct {
	rule     attributeRule
	required bool
}{
	"id":              {rule: nonEmptyString, required: true},
	"source":          {rule: uriReference, required: true},
	"type":            {rule: nonEmptyString, required: true},
	"subject":         {rule: nonEmptyString},
	"time":            {rule: timestamp},
	"dataschema":      {rule: absoluteURI},
	"datacontenttype": {rule: mediaType},
}

// checkAttributes checks every attribute and extension of one event, as the
// CloudEvents 1.0 spec and its JSON format define them, and names each that
// fails: 415 for another specversion, 400 for the rest.
func checkAttributes(attrs []attribute) error {
	var errs FieldErrors
	seen := map[string]bool{}
	version, contentType := "", ""
	for _, a := range attrs {
		seen[a.name] = true
		var v any
		if err := json.Unmarshal(a.value, &v); err != nil {
			errs.Add(a.where, "invalid JSON: %v", err)
			continue
		}
		if v == nil {
			errs.Add(a.where, "null: omit the attribute instead")
			continue
		}
		if s, ok := v.(string); ok && len(s) > MaxAttributeBytes {
			errs.Add(a.where, "must be at most %d bytes, got %d", MaxAttributeBytes, len(s))
			continue
		}
		switch r, known := rules[a.name]; {
		case a.name == "specversion":
			s, ok := v.(string)
			if !ok {
				errs.Add(a.where, "must be a string")
			}
			version = s
		case !a.structured && (a.name == "datacontenttype" || a.name == "data" || a.name == "data_base64"):
			errs.Add(a.where, "not a header in binary mode: the data is the body, its type the Content-Type")
		case known:
			if err := r.rule(v); err != nil {
				errs.Add(a.where, "%v", err)
			} else if a.name == "datacontenttype" {
				contentType = v.(string)
			}
		case a.name == "data":
		case a.name == "data_base64":
			if s, ok := v.(string); !ok {
				errs.Add(a.where, "must be a string")
			} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				errs.Add(a.where, "not base64: %v", err)
			}
		case !validAttributeName(a.name):
			errs.Add(a.where, "extension name must be lower-case letters and digits")
		default:
			if err := extensionValue(v); err != nil {
				errs.Add(a.where, "%v", err)
			}
		}
	}
	if seen["data"] && seen["data_base64"] {
		errs.Add("data_base64", "data and data_base64 are exclusive: send one")
	}
	for _, name := range sortedKeys(rules) {
		if rules[name].required && !seen[name] {
			errs.Add(attrName(attrs, name), "required")
		}
	}
	if !seen["specversion"] {
		errs.Add(attrName(attrs, "specversion"), "required")
	}
	if err := errs.Err(); err != nil {
		return Permanent(http.StatusBadRequest, err)
	}
	if version != SpecVersion {
		return Permanent(http.StatusUnsupportedMediaType, fmt.Errorf("%s: CloudEvents %s, want %s", attrName(attrs, "specversion"), Quote(version, MaxEcho), SpecVersion))
	}
	// Decode refuses other data too; the SDK would first fail to hold
	// structured data of another type (an object as text/plain).
	if mt, _, _ := mime.ParseMediaType(contentType); contentType != "" && mt != ContentTypeJSON {
		return Permanent(http.StatusUnsupportedMediaType, fmt.Errorf("datacontenttype %s, want %s", Quote(contentType, MaxEcho), ContentTypeJSON))
	}
	return nil
}

// attrName names attribute name the way the event's mode does.
func attrName(attrs []attribute, name string) string {
	if len(attrs) > 0 && !attrs[0].structured {
		return headerName(name)
	}
	return name
}

// validAttributeName is the CloudEvents rule: lower-case ASCII letters and
// digits.
func validAttributeName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func nonEmptyString(v any) error {
	s, ok := v.(string)
	switch {
	case !ok:
		return fmt.Errorf("must be a string, got %s", jsonKind(v))
	case s == "":
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func uriReference(v any) error {
	if err := nonEmptyString(v); err != nil {
		return err
	}
	if _, err := url.Parse(v.(string)); err != nil {
		return fmt.Errorf("not a URI-reference: %s", Clip(unwrapURLError(err), 2*MaxEcho))
	}
	return nil
}

func absoluteURI(v any) error {
	if err := nonEmptyString(v); err != nil {
		return err
	}
	u, err := url.Parse(v.(string))
	switch {
	case err != nil:
		return fmt.Errorf("not a URI: %s", Clip(unwrapURLError(err), 2*MaxEcho))
	case !u.IsAbs():
		return fmt.Errorf("not an absolute URI: %s", Quote(v.(string), MaxEcho))
	}
	return nil
}

func timestamp(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("must be a string, got %s", jsonKind(v))
	}
	_, err := ParseTime(s)
	return err
}

func mediaType(v any) error {
	if err := nonEmptyString(v); err != nil {
		return err
	}
	mt, _, err := mime.ParseMediaType(v.(string))
	switch {
	case err != nil:
		return fmt.Errorf("not a media type: %v", err)
	case !strings.Contains(mt, "/"):
		return fmt.Errorf("not a media type: %s has no slash", Quote(mt, MaxEcho))
	}
	return nil
}

// extensionValue holds an extension to the CloudEvents type system as the
// JSON format carries it: a string, a boolean or a 32-bit integer.
func extensionValue(v any) error {
	switch x := v.(type) {
	case string, bool:
		return nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt32 && x <= math.MaxInt32 {
			return nil
		}
		return fmt.Errorf("a number must be an integer in 32 bits")
	}
	return fmt.Errorf("must be a string, a boolean or an integer, got %s", jsonKind(v))
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// unwrapURLError drops url.Error's quoting of the whole value, which may
// be long; the reason is what names the fault.
func unwrapURLError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}
