package simulatecli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestScenarioDir(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	sub := filepath.Join(repo, "cmd", "x")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := ScenarioDir("", sub), filepath.Join(repo, "test", "scenarios"); got != want {
		t.Errorf("without ../shared: %q, want %q", got, want)
	}
	shared := filepath.Join(filepath.Dir(repo), "shared", "scenarios")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := ScenarioDir("", sub); got != shared {
		t.Errorf("with ../shared: %q, want %q", got, shared)
	}
	if got := ScenarioDir("/elsewhere", sub); got != "/elsewhere" {
		t.Errorf("explicit dir: %q", got)
	}
}

func TestRunByName(t *testing.T) {
	var o Options
	f := pflag.NewFlagSet("simulate", pflag.ContinueOnError)
	o.AddFlags(f)
	if err := f.Parse([]string{"--scenario", "ab-conversion", "--scenarios-dir", "../../../test/scenarios", "--runs", "3", "-o", "json"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := o.Run(&out); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Runs int `json:"runs"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Runs != 3 {
		t.Errorf("output %q: %v, runs %d", out.String(), err, r.Runs)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Runs: 1, Output: "json"}, "--scenario"},
		{Options{Scenario: "x", Runs: 1, Output: "yaml"}, "yaml"},
		{Options{Scenario: "x", Runs: 0, Output: "table"}, "--runs"},
	} {
		if err := tc.o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %q", tc.o, err, tc.want)
		}
	}
}
