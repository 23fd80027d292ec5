package docs

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

// root is the repository's top, where git ls-files names files from.
const root = "../.."

var (
	// inlineLink is a Markdown link or image, [text](target): its target
	// up to the first space (a title may follow) or closing parenthesis.
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	heading    = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	textLink   = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	htmlTag    = regexp.MustCompile(`<[^>]+>`)
)

// slug is the anchor GitHub gives a heading's text: lower case, every
// character that is not a letter, mark, digit, underscore, space or
// hyphen dropped, spaces turned to hyphens. Inline code and links keep
// their text.
func slug(text string) string {
	text = textLink.ReplaceAllString(text, "$1")
	text = htmlTag.ReplaceAllString(text, "")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lines are a Markdown file's lines outside fenced code blocks, where
// neither headings nor links are what they look like.
func lines(doc string) []string {
	var out []string
	fenced := false
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, l)
		}
	}
	return out
}

// anchors are the fragments a Markdown document can be linked to: its
// headings' slugs, a repeated one with -1, -2, … as GitHub numbers them,
// and its HTML anchors.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range lines(doc) {
		if m := heading.FindStringSubmatch(l); m != nil {
			s := slug(m[1])
			if n := seen[s]; n > 0 {
				out[fmt.Sprintf("%s-%d", s, n)] = true
			} else {
				out[s] = true
			}
			seen[s]++
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(l, -1) {
			out[m[1]] = true
		}
	}
	return out
}

// brokenLinks lists the relative links of the Markdown file at path (under
// dir) whose file or fragment does not exist, each as "path: target
// (why)"; read reads a file by its path under dir.
func brokenLinks(path string, read func(string) (string, error)) ([]string, error) {
	doc, err := read(path)
	if err != nil {
		return nil, err
	}
	var broken []string
	for _, l := range lines(doc) {
		for _, m := range inlineLink.FindAllStringSubmatch(l, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			to := path
			if file != "" {
				to = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(path), file)))
			}
			text, err := read(to)
			if err != nil {
				broken = append(broken, fmt.Sprintf("%s: %s (no file %s)", path, target, to))
				continue
			}
			if frag != "" && strings.HasSuffix(to, ".md") && !anchors(text)[frag] {
				broken = append(broken, fmt.Sprintf("%s: %s (no heading or anchor %q in %s)", path, target, frag, to))
			}
		}
	}
	return broken, nil
}

// TestLinksResolve follows every relative link of every Markdown file git
// tracks: README's and docs' links into each other's sections are how a
// reader moves between them, and a generated heading that changes its
// text silently breaks the links to it.
func TestLinksResolve(t *testing.T) {
	files, err := markdownFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d Markdown files (%v), want README.md and docs/", len(files), files)
	}
	read := func(p string) (string, error) {
		b, err := os.ReadFile(filepath.Join(root, p))
		return string(b), err
	}
	links := 0
	for _, f := range files {
		doc, err := read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines(doc) {
			links += len(inlineLink.FindAllString(l, -1))
		}
		broken, err := brokenLinks(f, read)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range broken {
			t.Error(b)
		}
	}
	if links < 50 {
		t.Errorf("found %d links in %d files, want the docs' many: is the link pattern still right?", links, len(files))
	}
}

// markdownFiles are the Markdown files git tracks or, in a tree without
// git (an unpacked archive), every one below root outside what the build
// and the benchmarks write (bin/, out/).
func markdownFiles() ([]string, error) {
	if out, err := exec.Command("git", "-C", root, "ls-files", "*.md").Output(); err == nil {
		return strings.Fields(string(out)), nil
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.IsDir() && (rel == "bin" || rel == "out" || strings.HasPrefix(d.Name(), ".") && rel != "."):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(p, ".md"):
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// TestSlug holds slug to anchors GitHub gives real headings of these docs.
func TestSlug(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Planning an experiment, and its live ETA", "planning-an-experiment-and-its-live-eta"},
		{"Scale: many experiments, several replicas", "scale-many-experiments-several-replicas"},
		{"Load generator: achieved against requested rate", "load-generator-achieved-against-requested-rate"},
		{"The first-passage model (`go run ./test/planbench -passage`, 8000 paths)", "the-first-passage-model-go-run-testplanbench--passage-8000-paths"},
		{"N = 1,000", "n--1000"},
		{"Which [point](x.md) is shown", "which-point-is-shown"},
		{"iter8.dev/past and `ETAOptions.Past`", "iter8devpast-and-etaoptionspast"},
	} {
		if got := slug(c.in); got != c.want {
			t.Errorf("slug(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestBrokenLinksAreFound checks the checker on a small tree: a missing
// file, a missing heading, a heading repeated, an HTML anchor, a link in
// a code block and an absolute URL.
func TestBrokenLinksAreFound(t *testing.T) {
	tree := map[string]string{
		"README.md": "# Top\n\n[a](docs/a.md#one) [b](docs/a.md#two) [c](docs/a.md#one-1) [d](docs/gone.md)\n" +
			"[e](#top) [f](#nowhere) [g](https://example.com/#x) [h](docs/a.md#here)\n```\n[i](nothere.md)\n```\n",
		"docs/a.md": "## One\n\n## One\n\n<a id=\"here\"></a>\n",
	}
	read := func(p string) (string, error) {
		if s, ok := tree[p]; ok {
			return s, nil
		}
		return "", os.ErrNotExist
	}
	got, err := brokenLinks("README.md", read)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`README.md: docs/a.md#two (no heading or anchor "two" in docs/a.md)`,
		`README.md: docs/gone.md (no file docs/gone.md)`,
		`README.md: #nowhere (no heading or anchor "nowhere" in README.md)`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("brokenLinks (-want +got):\n%s", d)
	}
}
