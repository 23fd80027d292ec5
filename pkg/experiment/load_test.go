package experiment

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadStatusAdd(t *testing.T) {
	var s *LoadStatus
	s = s.Add(LoadBurst{Asked: 50, Requested: 50, Sent: 500, Errors: 2, Seconds: 10, KeptUp: true})
	s = s.Add(LoadBurst{Asked: 50, Requested: 50, Sent: 400, Seconds: 10, KeptUp: false, Capped: "cut"})
	want := &LoadStatus{Bursts: 2, Behind: 1, Asked: 50, Requested: 50, Sent: 900, Errors: 2, Seconds: 20, Capped: "cut"}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Add (-want +got):\n%s", diff)
	}
	if s.Achieved() != 45 || s.KeptUp() {
		t.Errorf("achieved %v, kept up %v; want 45, false", s.Achieved(), s.KeptUp())
	}
}

func TestLoadStatusLine(t *testing.T) {
	tests := []struct {
		s    *LoadStatus
		want string
	}{
		{nil, "load: no burst yet"},
		{&LoadStatus{Bursts: 2, Asked: 50, Requested: 50, Sent: 999, Seconds: 20},
			"load: 50.0 of 50 requests/s requested (2 bursts, 999 requests)"},
		{&LoadStatus{Bursts: 3, Behind: 2, Asked: 2000, Requested: 1000, Sent: 15000, Seconds: 30, Capped: "rate 2000 capped at 1000 requests/s"},
			"load: 500 of 1000 requests/s requested (3 bursts, 15000 requests); the spec asked 2000, above the functions' ceiling; " +
				"WARNING: the generator could not keep up in 2 of 3 bursts: the verdict is for the load achieved, not the load requested; rate 2000 capped at 1000 requests/s"},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.s.Line()); diff != "" {
			t.Errorf("Line (-want +got):\n%s", diff)
		}
	}
}

func TestLoadStatusServed(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	var none *LoadStatus
	s := none.Add(LoadBurst{Sent: 10, Seconds: 1, KeptUp: true, Tick: t0})
	// A burst folded in late for an older tick does not move the mark back.
	s = s.Add(LoadBurst{Sent: 10, Seconds: 1, KeptUp: true, Tick: t0.Add(-time.Minute)})
	tests := []struct {
		name string
		s    *LoadStatus
		at   time.Time
		want bool
	}{
		{"no burst yet", none, t0, false},
		{"same tick", s, t0, true},
		{"older tick", s, t0.Add(-time.Minute), true},
		{"next tick", s, t0.Add(time.Minute), false},
		{"tick unknown", s, time.Time{}, false},
	}
	for _, tc := range tests {
		if got := tc.s.Served(tc.at); got != tc.want {
			t.Errorf("%s: Served(%v) = %v, want %v", tc.name, tc.at, got, tc.want)
		}
	}
	if !s.Tick.Equal(t0) {
		t.Errorf("tick mark %v, want %v", s.Tick, t0)
	}
}
