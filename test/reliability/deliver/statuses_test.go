package deliver

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormatStatuses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		byStatus map[int]int
		want     string
	}{
		{name: "none", want: "none"},
		{name: "one status", byStatus: map[int]int{200: 2}, want: "200: 2"},
		{name: "sorted by status", byStatus: map[int]int{503: 2, 200: 998, 429: 1}, want: "200: 998, 429: 1, 503: 2"},
		{name: "lost connections", byStatus: map[int]int{200: 5, 0: 1}, want: "no answer: 1, 200: 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, FormatStatuses(tc.byStatus)); diff != "" {
				t.Errorf("FormatStatuses (-want +got):\n%s", diff)
			}
		})
	}
}
