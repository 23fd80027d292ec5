package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

// schemas compiles every embedded schema once, by event type, with format
// assertions on so that "date-time" is checked as Go checks times.
func schemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	compileOnce.Do(func() {
		var c *jsonschema.Compiler
		if c, compileErr = schemaCompiler(); compileErr != nil {
			return
		}
		compiled = map[string]*jsonschema.Schema{}
		for _, typ := range Types() {
			s, err := c.Compile(SchemaURI(typ))
			if err != nil {
				compileErr = err
				return
			}
			compiled[typ] = s
		}
	})
	if compileErr != nil {
		t.Fatalf("compiling schemas: %v", compileErr)
	}
	return compiled
}

// schemaCompiler loads every embedded schema, with format assertions on.
func schemaCompiler() (*jsonschema.Compiler, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	names, err := fs.Glob(SchemaFS(), "*.json")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		b, err := fs.ReadFile(SchemaFS(), n)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, errors.Join(errors.New(n), err)
		}
		if err := c.AddResource(SchemaBase+n, doc); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// schemaValidate validates data against typ's schema.
func schemaValidate(t testing.TB, typ string, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	s, ok := schemas(t)[typ]
	if !ok {
		t.Fatalf("no schema for %s", typ)
	}
	return s.Validate(inst)
}

// schemaLocations lists the instance locations (JSON pointers) of every
// error in a validation error's tree.
func schemaLocations(err error) []string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	var visit func(*jsonschema.ValidationError)
	visit = func(e *jsonschema.ValidationError) {
		// The library validates a property name as a value of its own and
		// loses where the object was; the name is all it keeps. "*/name"
		// matches any pointer ending in that name.
		if pn, ok := e.ErrorKind.(*kind.PropertyNames); ok {
			out = append(out, "*/"+pn.Property)
			return
		}
		out = append(out, pointer(e.InstanceLocation))
		for _, c := range e.Causes {
			visit(c)
		}
	}
	visit(ve)
	return out
}

func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

// pathTokens turns a FieldError path such as data.versions["v1"]["e"].x[2]
// into the tokens of a JSON pointer into the data, dropping the root.
func pathTokens(t *testing.T, path string) []string {
	t.Helper()
	var tokens []string
	rest := path
	if i := strings.IndexAny(rest, ".["); i >= 0 {
		rest = rest[i:]
	} else {
		return nil
	}
	for rest != "" {
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			tokens = append(tokens, rest[1:1+end])
			rest = rest[1+end:]
		case '[':
			if strings.HasPrefix(rest, `["`) {
				end := strings.Index(rest, `"]`)
				for end > 0 && rest[end-1] == '\\' {
					end += 1 + strings.Index(rest[end+1:], `"]`)
				}
				key, err := strconv.Unquote(rest[1 : end+1])
				if err != nil {
					t.Fatalf("path %s: %v", path, err)
				}
				tokens = append(tokens, key)
				rest = rest[end+2:]
				continue
			}
			end := strings.IndexByte(rest, ']')
			tokens = append(tokens, rest[1:end])
			rest = rest[end+1:]
		default:
			t.Fatalf("cannot parse path %s at %q", path, rest)
		}
	}
	return tokens
}

func TestPathTokens(t *testing.T) {
	for path, want := range map[string][]string{
		"data":                                     nil,
		"data.window.end":                          {"window", "end"},
		`data.versions["v1"]["errors"].trials`:     {"versions", "v1", "errors", "trials"},
		`spec.objectives[0].metric`:                {"objectives", "0", "metric"},
		`data.to["a\"]b"]`:                         {"to", `a"]b`},
		`data.versions["v1"]["latency"].bounds[2]`: {"versions", "v1", "latency", "bounds", "2"},
	} {
		if diff := cmp.Diff(want, pathTokens(t, path)); diff != "" {
			t.Errorf("pathTokens(%s) (-want +got):\n%s", path, diff)
		}
	}
}

func readEvent(t *testing.T, b []byte) event.Event {
	t.Helper()
	var e event.Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("parsing CloudEvent: %v", err)
	}
	return e
}

// TestExamples checks that every example event under testdata/ passes both
// the Go decoding and the JSON Schema, and that every type has an example.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e := readEvent(t, b)
			seen[e.Type()] = true
			if _, err := Decode(e); err != nil {
				t.Errorf("Go decoding refused the example: %v", err)
			}
			if err := schemaValidate(t, e.Type(), e.Data()); err != nil {
				t.Errorf("JSON Schema refused the example: %v", err)
			}
			if s := e.DataSchema(); s != "" && s != SchemaURI(e.Type()) {
				t.Errorf("dataschema %q, want %q", s, SchemaURI(e.Type()))
			}
		})
	}
	for _, typ := range Types() {
		if !seen[typ] {
			t.Errorf("no example of %s under testdata/", typ)
		}
	}
}

type badCase struct {
	Field  string          `json:"field"`
	GoOnly string          `json:"goOnly"`
	Event  json.RawMessage `json:"event"`
}

// TestBadExamplesAgree checks each bad example under testdata/bad/: Go
// refuses it at the expected field, and the JSON Schema refuses it at that
// field or at the object holding it (JSON Schema reports a missing or extra
// property on its parent). Cases marked goOnly are rules JSON Schema cannot
// state; the schema must accept them, so that a schema that starts catching
// one shows up here and loses the mark.
func TestBadExamplesAgree(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("found %d bad examples, want the whole corpus", len(files))
	}
	perType := map[string]int{}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "testdata/bad/"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c badCase
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			e := readEvent(t, c.Event)
			perType[e.Type()]++
			if filepath.Base(filepath.Dir(f)) != SchemaName(e.Type()) {
				t.Errorf("example of %s filed under %s", e.Type(), filepath.Dir(f))
			}
			_, goErr := Decode(e)
			if goErr == nil {
				t.Fatalf("Go accepted the bad example")
			}
			if !IsPermanent(goErr) {
				t.Errorf("Go refused with a non-permanent error: %v", goErr)
			}
			var paths []string
			for _, fe := range FieldErrorsOf(goErr) {
				paths = append(paths, fe.Path)
			}
			if !slices.Contains(paths, c.Field) {
				t.Errorf("Go refused at %q, want %q: %v", paths, c.Field, goErr)
			}

			schemaErr := schemaValidate(t, e.Type(), e.Data())
			if c.GoOnly != "" {
				if schemaErr != nil {
					t.Errorf("marked goOnly (%s) but the JSON Schema refuses it too: %v", c.GoOnly, schemaErr)
				}
				return
			}
			if schemaErr == nil {
				t.Fatalf("JSON Schema accepted what Go refuses at %s: %v", c.Field, goErr)
			}
			tokens := pathTokens(t, c.Field)
			want := []string{pointer(tokens)}
			if len(tokens) > 0 {
				want = append(want, pointer(tokens[:len(tokens)-1]))
			}
			locs := schemaLocations(schemaErr)
			matches := func(l string) bool {
				if name, ok := strings.CutPrefix(l, "*/"); ok {
					return len(tokens) > 0 && tokens[len(tokens)-1] == name
				}
				return slices.Contains(want, l)
			}
			if !slices.ContainsFunc(locs, matches) {
				t.Errorf("JSON Schema refused at %q, want one of %q:\n%v", locs, want, schemaErr)
			}
		})
	}
	for _, typ := range Types() {
		if perType[typ] == 0 {
			t.Errorf("no bad example of %s under testdata/bad/", typ)
		}
	}
}

// TestSchemaLimitsMatchGo keeps the numbers written in the schemas equal to
// the Go constants they restate.
func TestSchemaLimitsMatchGo(t *testing.T) {
	read := func(name string) map[string]any {
		b, err := fs.ReadFile(SchemaFS(), name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	get := func(m any, path ...string) float64 {
		for _, p := range path {
			mm, ok := m.(map[string]any)
			if !ok {
				t.Fatalf("no %v", path)
			}
			m = mm[p]
		}
		f, ok := m.(float64)
		if !ok {
			t.Fatalf("%v is %v, not a number", path, m)
		}
		return f
	}
	defs, mo := read("defs.json"), read("metrics.observed.json")
	ctl, start := read("experiment.control.json"), read("experiment.start.json")
	got := map[string]float64{
		"label maxLength":          get(defs, "$defs", "label", "maxLength"),
		"count maximum":            get(defs, "$defs", "count", "maximum"),
		"traffic maxProperties":    get(defs, "$defs", "traffic", "maxProperties"),
		"versions maxProperties":   get(mo, "properties", "versions", "maxProperties"),
		"metrics maxProperties":    get(mo, "properties", "versions", "additionalProperties", "maxProperties"),
		"bounds maxItems":          get(mo, "$defs", "quantile", "properties", "bounds", "maxItems"),
		"counts maxItems":          get(mo, "$defs", "quantile", "properties", "counts", "maxItems"),
		"reason maxLength":         get(ctl, "properties", "reason", "maxLength"),
		"candidates maxItems":      get(start, "properties", "candidates", "maxItems"),
		"spec metrics maxItems":    get(start, "properties", "metrics", "maxItems"),
		"spec objectives maxItems": get(start, "properties", "objectives", "maxItems"),
	}
	want := map[string]float64{
		"label maxLength":          MaxLabelLength,
		"count maximum":            MaxCount,
		"traffic maxProperties":    MaxVersions,
		"versions maxProperties":   MaxVersions,
		"metrics maxProperties":    MaxMetrics,
		"bounds maxItems":          MaxBuckets,
		"counts maxItems":          MaxBuckets + 1,
		"reason maxLength":         MaxTextLength,
		"candidates maxItems":      MaxVersions - 1,
		"spec metrics maxItems":    MaxMetrics,
		"spec objectives maxItems": MaxObjectives,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema limits differ from Go constants (-go +schema):\n%s", diff)
	}
}

// TestSchemaFiles checks that every type has a schema whose $id is its
// dataschema URI.
func TestSchemaFiles(t *testing.T) {
	for _, typ := range Types() {
		b, err := Schema(typ)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		var s struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		if s.ID != SchemaURI(typ) {
			t.Errorf("%s: $id %q, want %q", typ, s.ID, SchemaURI(typ))
		}
	}
	if _, err := Schema(TypePing); err == nil {
		t.Errorf("Schema(%q) = nil error, want none for Knative's own type", TypePing)
	}
	schemas(t)
}
