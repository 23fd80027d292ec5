package gendoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReplace(t *testing.T) {
	tests := []struct {
		name, doc, want string
		wantErr         bool
	}{{
		name: "appended when absent",
		doc:  "# Title\n",
		want: "# Title\n\n<!-- s:begin -->\nnew\n<!-- s:end -->\n",
	}, {
		name: "empty file",
		doc:  "",
		want: "<!-- s:begin -->\nnew\n<!-- s:end -->\n",
	}, {
		name: "replaced in place",
		doc:  "a\n<!-- s:begin -->\nold\nlines\n<!-- s:end -->\nb\n",
		want: "a\n<!-- s:begin -->\nnew\n<!-- s:end -->\nb\n",
	}, {
		name: "other sections untouched",
		doc:  "<!-- t:begin -->\nx\n<!-- t:end -->\n<!-- s:begin -->\nold\n<!-- s:end -->\n",
		want: "<!-- t:begin -->\nx\n<!-- t:end -->\n<!-- s:begin -->\nnew\n<!-- s:end -->\n",
	}, {
		name:    "end before begin",
		doc:     "<!-- s:end -->\n<!-- s:begin -->\n",
		wantErr: true,
	}, {
		name:    "begin without end",
		doc:     "<!-- s:begin -->\n",
		wantErr: true,
	}, {
		name:    "end without begin",
		doc:     "<!-- s:end -->\n",
		wantErr: true,
	}, {
		name:    "section twice",
		doc:     "<!-- s:begin -->\na\n<!-- s:end -->\n<!-- s:begin -->\nb\n<!-- s:end -->\n",
		wantErr: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Replace(tc.doc, "s", "new")
			if (err != nil) != tc.wantErr {
				t.Fatalf("Replace error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); err == nil && diff != "" {
				t.Errorf("Replace (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeep(t *testing.T) {
	fresh := "# New\n<!-- a:begin -->\nA2\n<!-- a:end -->\n"
	tests := []struct {
		name, old, want string
		// wantErr is the error's text; "" for none.
		wantErr string
	}{{
		name: "another's section kept",
		old:  "# Old\n<!-- a:begin -->\nA\n<!-- a:end -->\n<!-- b:begin -->\nB\n<!-- b:end -->\n",
		want: fresh + "\n<!-- b:begin -->\nB\n<!-- b:end -->\n",
	}, {
		name: "own section broken in old is fresh's to write",
		old:  "<!-- a:end -->\n<!-- a:begin -->\n",
		want: fresh,
	}, {
		name: "nothing to keep",
		old:  "",
		want: fresh,
	}, {
		name:    "end before begin",
		old:     "<!-- b:end -->\nB\n<!-- b:begin -->\n",
		wantErr: `keeping another generator's section: section "b": "<!-- b:end -->" comes before "<!-- b:begin -->"`,
	}, {
		name:    "begin duplicated",
		old:     "<!-- b:begin -->\nB\n<!-- b:begin -->\nB\n<!-- b:end -->\n",
		wantErr: `keeping another generator's section: section "b": "<!-- b:begin -->" appears 2 times and "<!-- b:end -->" 1 times, want once each`,
	}, {
		name:    "end missing",
		old:     "<!-- b:begin -->\nB\n",
		wantErr: `keeping another generator's section: section "b": "<!-- b:begin -->" has no "<!-- b:end -->" after it`,
	}, {
		name:    "begin missing",
		old:     "B\n<!-- b:end -->\n",
		wantErr: `keeping another generator's section: section "b": "<!-- b:end -->" has no "<!-- b:begin -->" before it`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Keep(tc.old, fresh)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("Keep error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Keep (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeepFileNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	broken := "<!-- scale:begin -->\nrows\n"
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	err := KeepFile(path, "# Benchmarks\n")
	if err == nil || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), `section "scale"`) {
		t.Fatalf("KeepFile error = %v, want one naming %s and section \"scale\"", err, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(broken, string(raw)); diff != "" {
		t.Errorf("the file was written despite the error (-want +got):\n%s", diff)
	}
}

func TestReplaceFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	if err := ReplaceFile(path, "s", "one"); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceFile(path, "s", "two"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("<!-- s:begin -->\ntwo\n<!-- s:end -->\n", string(raw)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

// Section reads back what Replace wrote, and refuses a section that is
// absent or broken rather than returning an empty one a test would
// compare with.
func TestSection(t *testing.T) {
	doc, err := Replace("a\n<!-- t:begin -->\nx\n<!-- t:end -->\n", "s", "two\nlines\n\n")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Section(doc, "s")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("two\nlines\n", got); diff != "" {
		t.Errorf("Section (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"a\n", "<!-- s:begin -->\nx\n", "<!-- s:end -->\n<!-- s:begin -->\n"} {
		if got, err := Section(bad, "s"); err == nil || !strings.Contains(err.Error(), `"s"`) {
			t.Errorf("Section(%q) = %q, %v; want an error naming the section", bad, got, err)
		}
	}
}
