package events

import "testing"

func TestSuggest(t *testing.T) {
	names := []string{"baseline", "candidates", "kind", "maxIncrement", "maxCandidatePercent", "metric", "metrics"}
	for _, c := range []struct{ key, want string }{
		{"Kind", "kind"},                // case only
		{"maxIncrment", "maxIncrement"}, // one deletion
		{"basline", "baseline"},         // one deletion
		{"candiates", "candidates"},     // one deletion
		{"kindd", "kind"},               // one insertion
		{"metrik", "metric"},            // one substitution, metrics is two away
		{"metricz", ""},                 // metric and metrics both one away: no guess
		{"preference", ""},              // nothing near
		{"xy", ""},                      // kind is four away
		{string(make([]byte, 100)), ""}, // too long to look for
	} {
		if got := suggest(c.key, names); got != c.want {
			t.Errorf("suggest(%q) = %q, want %q", c.key, got, c.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"kitten", "sitting", 3},
		{"flaw", "lawn", 2}, {"same", "same", 0}, {"ab", "ba", 2},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
