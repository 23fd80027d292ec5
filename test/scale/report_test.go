package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		byStatus map[int]int
		want     string
	}{
		{name: "none", want: "none"},
		{name: "one status", byStatus: map[int]int{200: 2}, want: "200: 2"},
		{name: "sorted by status", byStatus: map[int]int{503: 2, 200: 998, 429: 1}, want: "200: 998, 429: 1, 503: 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, answers(tc.byStatus)); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
}
