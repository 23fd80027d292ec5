package gendoc

import (
	"os"
	"path/filepath"
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
	old := "# Old\n<!-- a:begin -->\nA\n<!-- a:end -->\n<!-- b:begin -->\nB\n<!-- b:end -->\n"
	fresh := "# New\n<!-- a:begin -->\nA2\n<!-- a:end -->\n"
	want := "# New\n<!-- a:begin -->\nA2\n<!-- a:end -->\n\n<!-- b:begin -->\nB\n<!-- b:end -->\n"
	if diff := cmp.Diff(want, Keep(old, fresh)); diff != "" {
		t.Errorf("Keep (-want +got):\n%s", diff)
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
