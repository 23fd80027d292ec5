package functions

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCapLogValues(t *testing.T) {
	long := strings.Repeat("x", 300)
	clipped := strings.Repeat("x", MaxLogValue) + "...(300 bytes)"
	// A 3-byte rune across the cut is kept whole or left out, never split.
	runes := strings.Repeat("x", MaxLogValue-1) + "€" + "tail"
	for _, tc := range []struct {
		name string
		log  func(*slog.Logger)
		want map[string]any
	}{{
		name: "short values kept",
		log:  func(l *slog.Logger) { l.Info("m", "id", "e-1", "n", 3) },
		want: map[string]any{"id": "e-1", "n": 3.0},
	}, {
		name: "a long string clipped",
		log:  func(l *slog.Logger) { l.Info("m", slog.String("subject", long)) },
		want: map[string]any{"subject": clipped},
	}, {
		name: "on a rune boundary",
		log:  func(l *slog.Logger) { l.Info("m", slog.String("type", runes)) },
		want: map[string]any{"type": strings.Repeat("x", MaxLogValue-1) + "...(262 bytes)"},
	}, {
		name: "an error clipped",
		log:  func(l *slog.Logger) { l.Info("m", slog.Any("error", errors.New(long))) },
		want: map[string]any{"error": clipped},
	}, {
		name: "attributes added with With",
		log:  func(l *slog.Logger) { l.With(slog.String("id", long)).Info("m") },
		want: map[string]any{"id": clipped},
	}, {
		name: "in a group",
		log:  func(l *slog.Logger) { l.Info("m", slog.Group("event", slog.String("source", long))) },
		want: map[string]any{"event": map[string]any{"source": clipped}},
	}, {
		name: "under WithGroup",
		log:  func(l *slog.Logger) { l.WithGroup("g").Info("m", "v", long) },
		want: map[string]any{"g": map[string]any{"v": clipped}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.log(slog.New(CapLogValues(slog.NewJSONHandler(&b, nil))))
			var got map[string]any
			if err := json.Unmarshal(b.Bytes(), &got); err != nil {
				t.Fatalf("%v: %s", err, b.String())
			}
			ignore := cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "time" || k == "level" || k == "msg" })
			if diff := cmp.Diff(tc.want, got, ignore); diff != "" {
				t.Errorf("logged (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHandlersLogCapped checks that New caps whatever logger it is given,
// so that the event's attributes (server.go) are capped on every line.
func TestHandlersLogCapped(t *testing.T) {
	var b bytes.Buffer
	h := New(nil, WithLogger(slog.New(slog.NewTextHandler(&b, nil))))
	h.log.Info("m", "subject", strings.Repeat("s", 1000))
	if got := b.String(); strings.Contains(got, strings.Repeat("s", MaxLogValue+1)) || !strings.Contains(got, "...(1000 bytes)") {
		t.Errorf("not capped: %s", got)
	}
	if _, ok := New(nil, WithLogger(h.log)).log.Handler().(capHandler).next.(capHandler); ok {
		t.Error("a capped logger is capped twice")
	}
}
