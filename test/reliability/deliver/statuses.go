package deliver

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// FormatStatuses renders answers counted by HTTP status, as Attempts and
// Tally count them, for a benchmark's table: "200: 998, 503: 2", by
// status; "no answer" stands for status 0 (a lost connection); "none"
// when nothing was answered.
func FormatStatuses(byStatus map[int]int) string {
	if len(byStatus) == 0 {
		return "none"
	}
	var out []string
	for _, status := range slices.Sorted(maps.Keys(byStatus)) {
		name := fmt.Sprint(status)
		if status == 0 {
			name = "no answer"
		}
		out = append(out, fmt.Sprintf("%s: %d", name, byStatus[status]))
	}
	return strings.Join(out, ", ")
}
