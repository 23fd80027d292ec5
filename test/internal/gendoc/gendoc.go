package gendoc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

// Markers returns the begin and end lines of the section called name.
func Markers(name string) (begin, end string) {
	return "<!-- " + name + ":begin -->", "<!-- " + name + ":end -->"
}

// Replace returns doc with the section called name set to md. A section
// that doc lacks is appended at its end, so that a new generator needs no
// hand edit of the file to start writing. Broken markers are an error (see
// find).
func Replace(doc, name, md string) (string, error) {
	i, j, ok, err := find(doc, name)
	if err != nil {
		return "", err
	}
	md = strings.TrimRight(md, "\n") + "\n"
	if !ok {
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		if doc != "" {
			doc += "\n"
		}
		begin, end := Markers(name)
		return doc + begin + "\n" + md + end + "\n", nil
	}
	return doc[:i] + "\n" + md + doc[j:], nil
}

// Section returns the content of doc's section called name, as Replace
// would have written it: what a test compares with what the section's
// generator makes now. A section doc lacks is an error, as are broken
// markers (see find).
func Section(doc, name string) (string, error) {
	i, j, ok, err := find(doc, name)
	if err != nil {
		return "", err
	}
	if !ok {
		begin, _ := Markers(name)
		return "", fmt.Errorf("section %q: no %q", name, begin)
	}
	return strings.TrimPrefix(doc[i:j], "\n"), nil
}

// find returns where the section called name lies in doc: i just after its
// begin marker, j at its end marker; ok is false when doc has neither. A
// marker that is duplicated, an end before its begin, or one without the
// other is an error naming the section: guessing where it ends could eat
// or drop another generator's figures.
func find(doc, name string) (i, j int, ok bool, err error) {
	begin, end := Markers(name)
	nb, ne := strings.Count(doc, begin), strings.Count(doc, end)
	i, j = strings.Index(doc, begin), strings.Index(doc, end)
	switch {
	case nb == 0 && ne == 0:
		return 0, 0, false, nil
	case nb > 1 || ne > 1:
		return 0, 0, false, fmt.Errorf("section %q: %q appears %d times and %q %d times, want once each", name, begin, nb, end, ne)
	case nb == 0:
		return 0, 0, false, fmt.Errorf("section %q: %q has no %q before it", name, end, begin)
	case ne == 0:
		return 0, 0, false, fmt.Errorf("section %q: %q has no %q after it", name, begin, end)
	case j < i:
		return 0, 0, false, fmt.Errorf("section %q: %q comes before %q", name, end, begin)
	}
	return i + len(begin), j, true, nil
}

// ReplaceFile rewrites the section called name of the file at path; a file
// that does not exist yet is created holding only that section.
func ReplaceFile(path, name, md string) error {
	return rewrite(path, func(doc string) (string, error) { return Replace(doc, name, md) })
}

// rewrite sets the file at path to edit of its content ("" when it does
// not exist yet), naming the file in any error.
func rewrite(path string, edit func(doc string) (string, error)) error {
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	doc, err := edit(string(raw))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

var markerLine = regexp.MustCompile(`<!-- ([A-Za-z0-9_.-]+):(?:begin|end) -->`)

// KeepFile writes fresh to the file at path, keeping the sections of the
// file that fresh does not contain (see Keep); the directory must exist.
func KeepFile(path, fresh string) error {
	return rewrite(path, func(old string) (string, error) { return Keep(old, fresh) })
}

// Keep returns fresh, a whole document a generator has just rendered, with
// every section of old that fresh does not contain appended unchanged: the
// generator that owns the whole file keeps the sections others own. A
// section of old with broken markers is an error naming it, never dropped
// in silence; the caller names the file.
func Keep(old, fresh string) (string, error) {
	seen := map[string]bool{}
	for _, m := range markerLine.FindAllStringSubmatch(old, -1) {
		name := m[1]
		begin, end := Markers(name)
		if seen[name] || strings.Contains(fresh, begin) || strings.Contains(fresh, end) {
			continue
		}
		seen[name] = true
		i, j, _, err := find(old, name)
		if err != nil {
			return "", fmt.Errorf("keeping another generator's section: %w", err)
		}
		if fresh, err = Replace(fresh, name, strings.TrimPrefix(old[i:j], "\n")); err != nil {
			return "", err
		}
	}
	return fresh, nil
}
