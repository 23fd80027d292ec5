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
// hand edit of the file to start writing.
func Replace(doc, name, md string) (string, error) {
	begin, end := Markers(name)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	md = strings.TrimRight(md, "\n") + "\n"
	switch {
	case i < 0 && j < 0:
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		if doc != "" {
			doc += "\n"
		}
		return doc + begin + "\n" + md + end + "\n", nil
	case i < 0 || j < i:
		return "", fmt.Errorf("section %q: markers %q and %q are out of order or one is missing", name, begin, end)
	}
	return doc[:i+len(begin)] + "\n" + md + doc[j:], nil
}

// ReplaceFile rewrites the section called name of the file at path; a file
// that does not exist yet is created holding only that section.
func ReplaceFile(path, name, md string) error {
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	doc, err := Replace(string(raw), name, md)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

var beginLine = regexp.MustCompile(`<!-- ([A-Za-z0-9_.-]+):begin -->`)

// Keep returns fresh, a whole document a generator has just rendered, with
// every section of old that fresh does not contain appended unchanged: the
// generator that owns the whole file keeps the sections others own.
func Keep(old, fresh string) string {
	for _, m := range beginLine.FindAllStringSubmatch(old, -1) {
		name := m[1]
		begin, end := Markers(name)
		if strings.Contains(fresh, begin) {
			continue
		}
		i, j := strings.Index(old, begin), strings.Index(old, end)
		if j < i {
			continue
		}
		md := strings.TrimPrefix(old[i+len(begin):j], "\n")
		if out, err := Replace(fresh, name, md); err == nil {
			fresh = out
		}
	}
	return fresh
}
