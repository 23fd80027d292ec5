package events

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
)

// mutations replace one value of a valid example. They are the shapes a
// hand-written or foreign producer gets wrong: zero values, wrong kinds,
// out-of-range numbers, empty containers.
var mutations = []any{
	nil, "", "x", "V1", 0, -1, 0.5, 1.5, 101, 1e3, 9007199254740993, true,
	[]any{}, map[string]any{}, []any{1.0, 1.0}, "2025-03-04T10:00:00Z", "1h",
}

type mutant struct {
	where string
	data  []byte
}

// mutants returns every single-value change of data: each value replaced by
// each mutation, and each object member removed.
func mutants(t *testing.T, data []byte) []mutant {
	var root any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	var out []mutant
	emit := func(where string) {
		b, err := json.Marshal(root)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, mutant{where, b})
	}
	var visit func(v any, set func(any), del func(), where string)
	visit = func(v any, set func(any), del func(), where string) {
		for _, m := range mutations {
			set(m)
			emit(where + " = " + string(must(json.Marshal(m))))
		}
		set(v)
		if del != nil {
			del()
			emit("delete " + where)
			set(v)
		}
		switch c := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(c))
			for k := range c {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				visit(c[k], func(n any) { c[k] = n }, func() { delete(c, k) }, where+"/"+k)
			}
		case []any:
			for i := range c {
				visit(c[i], func(n any) { c[i] = n }, nil, where+"/"+strconv.Itoa(i))
			}
		}
	}
	visit(root, func(n any) { root = n }, nil, "")
	return out
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestMutantsAgree checks the JSON Schemas against Go on every single-value
// change of every example: the schema must never refuse what Go accepts.
// The reverse, Go refusing what the schema accepts, is expected for the
// rules JSON Schema cannot state; the test reports how often.
func TestMutantsAgree(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, f := range files {
		e := readEvent(t, mustRead(t, f))
		counts := map[string]int{}
		for _, m := range mutants(t, e.Data()) {
			ev := e.Clone()
			ev.DataEncoded = m.data
			_, goErr := Decode(ev)
			schemaErr := schemaValidate(t, e.Type(), m.data)
			switch {
			case goErr == nil && schemaErr != nil:
				counts["schema only"]++
				t.Errorf("%s: %s: Go accepts, the JSON Schema refuses: %v", f, m.where, schemaErr)
			case goErr == nil:
				counts["both accept"]++
			case schemaErr == nil:
				counts["Go only"]++
				if testing.Verbose() {
					t.Logf("%s: %s: only Go refuses: %v", f, m.where, goErr)
				}
			default:
				counts["both refuse"]++
			}
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range counts {
				if !yield(k) {
					return
				}
			}
		})
		var summary []string
		for _, k := range keys {
			summary = append(summary, k+": "+strconv.Itoa(counts[k]))
		}
		t.Logf("%s: %v", filepath.Base(f), summary)
	}
}
