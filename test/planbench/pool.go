package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/test/internal/gendoc"
)

// pool tables the own-duration ETA ratios of several -dump files together
// (`-pool a.json,b.json,...`, typically one seed each), into the "pool"
// section of out (docs/planning.md): where a scenario's ratios are
// bimodal, as a bad canary's are, the median over one seed's few dozen
// traced runs lands on either side of the target by which runs were
// drawn, and only many runs say where the median really is. Each cell
// gives the median ratio with its 95% interval and the shares of runs
// below 0.7 and above 1.3: a median within the target with few runs
// within it is a balance of two misses.
//
// The verdict those runs give is written, too, as the "pool-summary"
// section of summaryOut (docs/benchmarks.md, whose other ETA figures are
// one seed's): test/bench rewrites that file whole and keeps only its
// marked sections, so a hand-written verdict there would be lost.
func pool(files []string, out, summaryOut string) error {
	md, summary, err := pooledSections(files)
	if err != nil {
		return err
	}
	fmt.Print(md, "\n", summary)
	if out != "" {
		if err := gendoc.ReplaceFile(out, "pool", md); err != nil {
			return err
		}
	}
	if summaryOut == "" {
		return nil
	}
	return gendoc.ReplaceFile(summaryOut, "pool-summary", summary)
}

// PoolDir is where make bench-eta-pool writes its dumps (ETA_POOL), from
// the repository's root: they are kept in the repository, so that the
// pooled sections are re-tabled in seconds and checked against them
// (committed_test.go), where tracing them again keeps both cores of a
// machine busy for tens of minutes.
const PoolDir = "test/planbench/testdata/eta-pool"

// pooledSections are the "pool" and "pool-summary" sections that pool
// writes for files: TestPooledDocsAreTheCommittedDumps checks the docs
// hold them.
func pooledSections(files []string) (md, summary string, err error) {
	by, order, err := loadPool(files)
	if err != nil {
		return "", "", err
	}
	if md, err = poolTable(files, by, order); err != nil {
		return "", "", err
	}
	return md, poolSummary(files, by, order), nil
}

// pooled is one scenario's traced runs over every dump.
type pooled struct {
	runs, few int
	durations []float64
	// points are each estimator's, by fraction, every file's runs in
	// file order; first are its ratios at the first fraction (25%),
	// one slice a file.
	points map[string][]plan.ETAPoint
	first  map[string][][]float64
	names  []string
}

// dumpMedians are est's median ratios at 25% over each dump's runs alone,
// in file order: what one seed's benchmark would have reported.
func (p *pooled) dumpMedians(est string) []float64 {
	var ms []float64
	for _, xs := range p.first[est] {
		m, _, _ := medianCI(xs)
		ms = append(ms, m)
	}
	return ms
}

// twoPlaces are xs as the tables print ratios.
func twoPlaces(xs []float64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%.2f", x)
	}
	return out
}

// readDump reads one -dump file: each scenario's ETA result.
func readDump(file string) (map[string]plan.ETAResult, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var dump map[string]plan.ETAResult
	if err := json.Unmarshal(b, &dump); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return dump, nil
}

// loadPool reads the dumps, pooling each scenario's runs over them;
// order is the scenarios' in the order first read.
func loadPool(files []string) (byScenario map[string]*pooled, order []string, err error) {
	dumps, err := readDumps(files)
	if err != nil {
		return nil, nil, err
	}
	byScenario, order = poolDumps(dumps)
	return byScenario, order, nil
}

// readDumps reads each of files (readDump), in order.
func readDumps(files []string) ([]map[string]plan.ETAResult, error) {
	var dumps []map[string]plan.ETAResult
	for _, f := range files {
		dump, err := readDump(f)
		if err != nil {
			return nil, err
		}
		dumps = append(dumps, dump)
	}
	return dumps, nil
}

// poolDumps pools each scenario's runs over dumps; order is the
// scenarios' in the order first met.
func poolDumps(dumps []map[string]plan.ETAResult) (byScenario map[string]*pooled, order []string) {
	byScenario = map[string]*pooled{}
	for _, dump := range dumps {
		for _, name := range slices.Sorted(maps.Keys(dump)) {
			res := dump[name]
			p := byScenario[name]
			if p == nil {
				p = &pooled{points: map[string][]plan.ETAPoint{}, first: map[string][][]float64{}}
				byScenario[name] = p
				order = append(order, name)
			}
			p.runs += res.Used
			p.durations = append(p.durations, res.Durations...)
			for i, e := range res.Estimators {
				if len(e.Own) == 0 {
					continue
				}
				if i == 0 {
					p.few += countOf(e.Own[0].Served, isFew)
				}
				if _, ok := p.points[e.Name]; !ok {
					p.points[e.Name] = make([]plan.ETAPoint, len(e.Own))
					p.names = append(p.names, e.Name)
				}
				for k, pt := range e.Own {
					all := &p.points[e.Name][k]
					all.Fraction = pt.Fraction
					all.Ratios = append(all.Ratios, pt.Ratios...)
					all.Forwards = append(all.Forwards, pt.Forwards...)
					all.Actuals = append(all.Actuals, pt.Actuals...)
				}
				p.first[e.Name] = append(p.first[e.Name], e.Own[0].Ratios)
			}
		}
	}
	return byScenario, order
}

// poolTable is pool's section of the pooled dumps.
func poolTable(files []string, byScenario map[string]*pooled, order []string) (string, error) {
	var b strings.Builder
	// The anchor is what links name: the heading's own changes with
	// the dumps.
	fmt.Fprintf(&b, "<a id=\"pooled-traced-runs\"></a>\n\n#### Pooled traced runs (`go run ./test/planbench -pool %s`)\n\n", dumpNames(files))
	b.WriteString("The ETA at 25%, 50% and 75% of each run's own duration, as issue #19 states the target, over the traced runs of every dump together. Each cell: the median ratio of the ETA shown to the windows that remained (95% interval, order statistics), then the shares of runs below 0.7 and above 1.3. \"Each dump\": the median at 25% over each dump's runs alone, in the order given (one seed each): what one seed's benchmark would have reported. \"At most 5\": the runs whose candidate had served at most 5 requests at 25%, a state that cannot tell a bad candidate from a good one.\n\n")
	b.WriteString("| scenario | runs | CV of duration | at most 5 at 25% | estimator | at 25% own (below 0.7 / above 1.3) | at 50% | at 75% | within ±30% | at 25%, each dump |\n|---|---:|---:|---:|---|---|---|---|---|---|\n")
	for _, name := range order {
		p := byScenario[name]
		for _, est := range p.names {
			var cells []string
			within := true
			for _, pt := range p.points[est] {
				xs := pt.Ratios
				m, lo, hi := medianCI(xs)
				within = within && withinTarget(m)
				cells = append(cells, fmt.Sprintf("%.2f (%.2f–%.2f) · %s / %s", m, lo, hi, shareOf(xs, func(x float64) bool { return x < 0.7 }), shareOf(xs, func(x float64) bool { return x > 1.3 })))
			}
			fmt.Fprintf(&b, "| %s | %d | %.2f | %d | %s | %s | %s | %s |\n", name, p.runs, cv(p.durations), p.few, est, strings.Join(cells, " | "), yes(within), strings.Join(twoPlaces(p.dumpMedians(est)), " · "))
		}
	}
	if err := otherPoints(&b, order, byScenario); err != nil {
		return "", err
	}
	return b.String(), nil
}

// dumpNames is the -pool argument a section names: the dumps' base names,
// not where they were read from, so the section regenerates the same
// from any directory (the tests read PoolDir from test/planbench).
func dumpNames(files []string) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	return strings.Join(names, ",")
}

// shareOf is the share of xs for which in holds, as a percentage.
func shareOf(xs []float64, in func(float64) bool) string {
	return fmt.Sprintf("%.0f%%", 100*float64(countOf(xs, in))/float64(max(1, len(xs))))
}
