package events

import (
	"strconv"
	"unicode/utf8"
)

// MaxEcho is the most bytes of a sender's value (an id, a source, an
// unknown action) that an error message quotes back. A refusal names what
// was wrong; it never returns the payload, however large the value.
const MaxEcho = 128

// Clip returns s cut to at most max bytes on a rune boundary, marked with
// the length it had when it was cut.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "...(" + strconv.Itoa(len(s)) + " bytes)"
}

// Quote is strconv.Quote of s clipped to max bytes.
func Quote(s string, max int) string { return strconv.Quote(Clip(s, max)) }
