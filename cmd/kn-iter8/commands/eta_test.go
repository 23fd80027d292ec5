package commands

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/collector"
	"github.com/iter8-knative/iter8/pkg/present"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// baselineCall is one read of a baseline's history.
type baselineCall struct {
	URL, NS, Name, Baseline string
	From, To                time.Time
}

// fakeBaseline records the reads and answers them with data or err.
func fakeBaseline(calls *[]baselineCall, data map[string]stats.Data, err error) func(context.Context, *env, func(string) (string, bool), string, string, events.ExperimentSpec, time.Time, time.Time) (map[string]stats.Data, error) {
	return func(_ context.Context, _ *env, lookup func(string) (string, bool), ns, name string, spec events.ExperimentSpec, from, to time.Time) (map[string]stats.Data, error) {
		url, _ := lookup(collector.EnvURL)
		*calls = append(*calls, baselineCall{url, ns, name, spec.Baseline, from, to})
		return data, err
	}
}

// A canary's ETA reads the baseline's history before the start, over
// --lookback, from --prometheus; other kinds read nothing.
func TestETAReadsTheBaselineHistory(t *testing.T) {
	hour := map[string]stats.Data{"errors": {Successes: 60, Trials: 30000}}
	tests := []struct {
		name string
		args []string
		want []baselineCall
	}{
		{"canary", []string{"describe", "shop", "--prometheus", "http://prom:9090", "-o", "json"}, []baselineCall{{URL: "http://prom:9090", NS: "default", Name: "shop", Baseline: "shop-v1"}}},
		{"lookback", []string{"describe", "shop", "--prometheus", "http://prom:9090", "--lookback", "30m", "-o", "json"}, []baselineCall{{URL: "http://prom:9090", NS: "default", Name: "shop", Baseline: "shop-v1"}}},
		{"no eta", []string{"describe", "shop", "--no-eta", "-o", "json"}, nil},
		{"abn", []string{"describe", "frontend", "-n", "shop", "--prometheus", "http://prom:9090", "-o", "json"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, recorded(t, allRecorded...))
			var calls []baselineCall
			h.env.baseline = fakeBaseline(&calls, hour, nil)
			if code := h.run(tt.args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, h.stderr)
			}
			var d present.Description
			if err := json.Unmarshal(h.stdout.Bytes(), &d); err != nil {
				t.Fatal(err)
			}
			lookback := time.Hour
			if tt.name == "lookback" {
				lookback = 30 * time.Minute
			}
			for i := range tt.want {
				// The hour (or --lookback) before the experiment started.
				started := d.Started
				tt.want[i].From, tt.want[i].To = started.Add(-lookback), started
			}
			if diff := cmp.Diff(tt.want, calls); diff != "" {
				t.Errorf("reads (-want +got):\n%s", diff)
			}
			if tt.name != "no eta" && d.ETA == nil {
				t.Errorf("no ETA; stderr: %s", h.stderr)
			}
		})
	}
}

// A failed read warns once and the ETA is still shown, from the
// experiment's data alone.
func TestETAWithoutTheBaselineHistory(t *testing.T) {
	h := newHarness(t, recorded(t, allRecorded...))
	var calls []baselineCall
	h.env.baseline = fakeBaseline(&calls, nil, errors.New("baseline shop-v1 of default/shop: connection refused"))
	if code := h.run("describe", "shop", "--prometheus", "http://prom:9090"); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	want := "Warning: the ETA does not use the baseline's history: baseline shop-v1 of default/shop: connection refused\n"
	if got := h.stderr.String(); got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if !strings.Contains(h.stdout.String(), "\nETA:") {
		t.Errorf("no ETA line:\n%s", h.stdout)
	}
}

// watch reads the history once an experiment, not once a window.
func TestETACacheReadsTheHistoryOnce(t *testing.T) {
	h := newHarness(t, recorded(t, allRecorded...))
	var calls []baselineCall
	h.env.baseline = fakeBaseline(&calls, nil, nil)
	cl, err := h.env.clients(&kubeFlags{})
	if err != nil {
		t.Fatal(err)
	}
	_, in, err := loadExperiment(context.Background(), cl, &kubeFlags{}, "shop", h.stderr)
	if err != nil {
		t.Fatal(err)
	}
	var c etaCache
	for i := range 3 {
		next := in
		next.State.Iteration += i
		if got := c.withETA(context.Background(), h.env, etaFlags{lookback: time.Hour}, next); got.ETA == nil {
			t.Fatalf("iteration %d: no ETA: %s", next.State.Iteration, h.stderr)
		}
	}
	if len(calls) != 1 {
		t.Errorf("%d reads of the history over three windows, want 1", len(calls))
	}
}

// The history reaches the forward runs: a baseline that has run at the
// canary's 1% limit for an hour makes "the candidate is like the baseline"
// a candidate at the limit, and most forward runs roll it back, where the
// experiment's data alone (0.3% so far) promote it.
func TestETAUsesTheBaselineHistory(t *testing.T) {
	rollback := map[string]float64{}
	for name, hist := range map[string]map[string]stats.Data{
		"none": nil, "at the limit": {"errors": {Successes: 300, Trials: 30000}},
	} {
		h := newHarness(t, recorded(t, allRecorded...))
		var calls []baselineCall
		h.env.baseline = fakeBaseline(&calls, hist, nil)
		if code := h.run("describe", "shop", "--prometheus", "http://prom:9090", "-o", "json"); code != exitOK {
			t.Fatalf("%s: exit %d: %s", name, code, h.stderr)
		}
		var d present.Description
		if err := json.Unmarshal(h.stdout.Bytes(), &d); err != nil || d.ETA == nil {
			t.Fatalf("%s: no ETA (%v): %s", name, err, h.stdout)
		}
		rollback[name] = d.ETA.Outcomes["rollback"]
	}
	if !(rollback["none"] < 0.5 && rollback["at the limit"] > 0.5) {
		t.Errorf("forward runs rolling back: %v without history, %v with a baseline at the limit", rollback["none"], rollback["at the limit"])
	}
}
