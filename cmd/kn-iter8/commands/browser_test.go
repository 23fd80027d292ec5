package commands

import (
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromiumFlags keep headless Chromium off the network and away from the
// user's profile.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
}

// findChromium returns Chromium's path (see lookTool).
func findChromium(t *testing.T) string {
	t.Helper()
	return lookTool(t, "the browser check of the report", "chromium", "chromium", "chromium-browser")
}

// chromium runs headless Chromium on a page with extra flags and returns
// its standard output.
func chromium(t *testing.T, bin, page string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(append([]string(nil), chromiumFlags...), "--user-data-dir="+t.TempDir())
	args = append(append(args, extra...), "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, stderr.String())
	}
	return []byte(stdout.String())
}

// variant writes a copy of the page with extra markup before </head> or
// </body>.
func variant(t *testing.T, page []byte, before, extra string) string {
	t.Helper()
	s := string(page)
	i := strings.LastIndex(s, before)
	if i < 0 {
		t.Fatalf("the page has no %s", before)
	}
	p := filepath.Join(t.TempDir(), "variant.html")
	if err := os.WriteFile(p, []byte(s[:i]+extra+s[i:]), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReportRendersInChromium opens the report of the recorded A/B/n
// experiment in headless Chromium and checks that it renders:
//
//   - the page's screenshot decodes at the window's size and shows text;
//   - with everything but the plots hidden, each version's colour covers
//     many pixels, so every version's curves were drawn (a page whose
//     SVGs fail to render shows none);
//   - every plot is laid out at a readable size within its section, and
//     nothing overflows the window sideways.
//
// Set ITER8_REPORT_SCREENSHOT=path.png to keep the screenshot for a look.
func TestReportRendersInChromium(t *testing.T) {
	bin := findChromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	h := newHarness(t, recorded(t, allRecorded...))
	if code := h.run("report", "frontend", "-n", "shop", "--output-file", page); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}

	shot := filepath.Join(dir, "out.png")
	chromium(t, bin, page, "--screenshot="+shot, "--window-size=1200,1600")
	if dst := os.Getenv("ITER8_REPORT_SCREENSHOT"); dst != "" {
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Error(err)
		}
	}
	img := decodePNG(t, shot)
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 1600 {
		t.Errorf("screenshot is %dx%d, want 1200x1600", b.Dx(), b.Dy())
	}
	if n := countDark(img); n < 5000 {
		t.Errorf("only %d dark pixels: the text did not render", n)
	}

	plotsOnly := variant(t, html, "</head>", `<style>header, h2, dl, table, .legend, figcaption, footer { display: none !important; }</style>`)
	shot = filepath.Join(dir, "plots.png")
	chromium(t, bin, plotsOnly, "--screenshot="+shot, "--window-size=1200,1600")
	img = decodePNG(t, shot)
	for _, c := range versionColours {
		n := countColour(img, c.r, c.g, c.b)
		t.Logf("%s: %d pixels", c.name, n)
		if n < minCurvePixels {
			t.Errorf("%s covers %d pixels, want at least %d: its curves were not drawn", c.name, n, minCurvePixels)
		}
	}

	measured := variant(t, html, "</body>", `<script>
document.body.insertAdjacentHTML("beforeend", "<pre id=\"layout\">" + JSON.stringify({
  overflow: document.documentElement.scrollWidth > window.innerWidth,
  plots: Array.from(document.querySelectorAll("svg.plot")).map(s => {
    const r = s.getBoundingClientRect(), p = s.closest("section").getBoundingClientRect();
    return {label: s.getAttribute("aria-label"), w: r.width, h: r.height, inside: r.left >= p.left && r.right <= p.right, paths: s.querySelectorAll("path").length};
  })
}) + "</pre>");
</script>`)
	dom := chromium(t, bin, measured, "--dump-dom", "--window-size=1200,1600")
	m := regexp.MustCompile(`<pre id="layout">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("the layout probe did not run; DOM:\n%.500s", dom)
	}
	var layout struct {
		Overflow bool
		Plots    []struct {
			Label  string
			W, H   float64
			Inside bool
			Paths  int
		}
	}
	if err := json.Unmarshal(m[1], &layout); err != nil {
		t.Fatalf("layout %s: %v", m[1], err)
	}
	if layout.Overflow {
		t.Error("the page overflows a 1200px window sideways")
	}
	if len(layout.Plots) != 4 {
		t.Errorf("%d plots laid out, want 4 (two posteriors, traffic, win probability)", len(layout.Plots))
	}
	for _, p := range layout.Plots {
		if p.W < 600 || p.H < 150 || !p.Inside || p.Paths < 3 {
			t.Errorf("plot %q laid out %.0fx%.0f, inside its section %v, %d paths", p.Label, p.W, p.H, p.Inside, p.Paths)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// versionColours are the report's first three version colours.
var versionColours = []struct {
	name    string
	r, g, b uint8
}{{"frontend-v1 blue", 0x00, 0x72, 0xB2}, {"frontend-v2 orange", 0xE6, 0x9F, 0x00}, {"frontend-v3 green", 0x00, 0x9E, 0x73}}

// minCurvePixels is well below what each version's curves cover on the
// plots-only page (about 2,000 pixels each) and far above what that page
// shows with its SVGs removed (none).
const minCurvePixels = 800

// countColour counts pixels within a small distance of an sRGB colour, to
// allow for anti-aliasing.
func countColour(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr>>8, r) && near(pg>>8, g) && near(pb>>8, b) {
				n++
			}
		}
	}
	return n
}

func near(a uint32, b uint8) bool {
	d := int(a) - int(b)
	return d > -24 && d < 24
}

func countDark(img image.Image) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if (r>>8)+(g>>8)+(b>>8) < 200 {
				n++
			}
		}
	}
	return n
}
