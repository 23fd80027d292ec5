package events

import "strings"

// maxSuggestKey is the longest key a suggestion is looked for: an edit
// distance costs the product of the two lengths, and a key that long is
// no typo of a field name.
const maxSuggestKey = 64

// suggest is the field of names that an unknown key most likely meant:
// the one equal to it but for case, else the only one within two edits
// of it (insertions, deletions, substitutions), else "". Names are the
// contract's own, so the hint a reply carries is bounded.
func suggest(key string, names []string) string {
	if len(key) > maxSuggestKey {
		return ""
	}
	// Compared in lower case, a name equal to key but for case is at
	// distance 0, nearer than any other: the contract has no two names
	// that differ only in case.
	key = strings.ToLower(key)
	best, bestD, ties := "", 3, 0
	for _, n := range names {
		switch d := editDistance(key, strings.ToLower(n)); {
		case d < bestD:
			best, bestD, ties = n, d, 1
		case d == bestD:
			ties++
		}
	}
	if ties != 1 {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
