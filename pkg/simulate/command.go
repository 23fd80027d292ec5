package simulate

import (
	"errors"
	"fmt"
	"io"
)

// Command is `kn-iter8 simulate` without its flag parsing, shared by the
// kn plugin and the standalone iter8-simulate binary.
type Command struct {
	// Scenario is a file, or a name in ScenarioDir.
	Scenario    string
	ScenarioDir string
	Runs        int
	Seed        uint64
	// Policy is one of Policies(); ignored with AllPolicies.
	Policy      string
	AllPolicies bool
	// Output is "json" (one object per policy, one per line) or "table".
	Output  string
	Workers int
}

// Execute runs the command and writes its output to w.
func (c Command) Execute(w io.Writer) error {
	if c.Output != "json" && c.Output != "table" {
		return fmt.Errorf("output %q: want json or table", c.Output)
	}
	path, err := ResolveScenario(c.Scenario, c.ScenarioDir)
	if err != nil {
		return err
	}
	s, err := LoadScenario(path)
	if err != nil {
		return err
	}
	policies := []string{c.Policy}
	if c.AllPolicies {
		policies = Policies()
	}
	var reports []Report
	for _, p := range policies {
		r, err := Run(s, Options{Runs: c.Runs, Seed: c.Seed, Policy: p, Workers: c.Workers})
		if c.AllPolicies && errors.Is(err, ErrNotApplicable) {
			continue
		}
		if err != nil {
			return err
		}
		reports = append(reports, r)
		if c.Output == "json" {
			if err := WriteJSON(w, r); err != nil {
				return err
			}
		}
	}
	if c.Output == "table" {
		return WriteTable(w, reports)
	}
	return nil
}
