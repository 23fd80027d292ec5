// Command calibration measures how often iter8's 95% credible intervals
// cover the truth at fixed true values, per metric type, and how reliable
// P(win) is; `make bench` runs it and it writes the table into
// docs/statistics.md between the calibration markers. It reports; the
// fast subset in calibration_test.go asserts.
//
//	go run ./test/calibration [-runs N] [-seed S] [-out FILE]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	runs := flag.Int("runs", 2000, "runs per simulated cell (binomial SE at 95% is 0.49% with 2,000)")
	seed := flag.Uint64("seed", 1, "seed")
	out := flag.String("out", "docs/statistics.md", "markdown file whose calibration section to rewrite; empty: print only")
	only := flag.String("only", "", "run one grid only: ratio, mean, quantile, verdict or win (with -out \"\")")
	flag.Parse()
	began := time.Now()
	t := measure(*runs, *seed, *only)
	md := t.markdown(*runs, time.Since(began))
	fmt.Print(md)
	if *out == "" {
		return
	}
	if err := replaceSection(*out, md); err != nil {
		fmt.Fprintln(os.Stderr, "calibration:", err)
		os.Exit(1)
	}
}
