package events

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// TimePattern is the form of every time iter8 reads: RFC 3339 with an
// upper-case T and Z, a year from 0001 to 9999, no leap second (Go cannot
// hold one), at most nanoseconds, and an
// offset within ±23:59 (RFC 3339's hours stop at 23; Go's parser would take
// 24). schema/v1/defs.json carries the same pattern, and TimeEdgePattern as
// a "not", so that the schemas and Go accept the same times.
const TimePattern = `^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$`

// TimeEdgePattern matches the times whose instant leaves years 1 to 9999:
// any positive offset on 0001-01-01 and any negative one on 9999-12-31.
// (Some of those instants are inside the range, 0001-01-01T12:00:00+01:00
// say; refusing the whole day keeps the rule one that a JSON Schema pattern
// can state.) A time such as 9999-12-31T23:59:59-23:59 is year 10000 in
// UTC, which iter8 would store and no reader could parse again.
const TimeEdgePattern = `^(0001-01-01T[^+]*\+|9999-12-31T[^-]*-)`

var (
	timeRE     = regexp.MustCompile(TimePattern)
	timeEdgeRE = regexp.MustCompile(TimeEdgePattern)
)

// maxTimeText bounds the text quoted back in a time error.
const maxTimeText = 64

// ParseTime reads a time as every iter8 reader must be able to read it
// again, and returns it in UTC: see TimePattern and TimeEdgePattern.
func ParseTime(s string) (time.Time, error) {
	if !timeRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("time must be RFC 3339 (such as 2026-01-02T15:04:05Z) with a year from 0001 to 9999 and an offset within ±23:59, got %s", Quote(s, maxTimeText))
	}
	if timeEdgeRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("time %s is outside years 0001 to 9999 in UTC, or too near their edge: write it in UTC", Quote(s, maxTimeText))
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// The pattern holds, so this is the calendar: February 30.
		return time.Time{}, fmt.Errorf("time %s is not a date in the calendar: %w", Quote(s, maxTimeText), err)
	}
	v = v.UTC()
	if y := v.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("time %s is year %d in UTC, outside 0001 to 9999", Quote(s, maxTimeText), y)
	}
	return v, nil
}

// Time is a time.Time that marshals as RFC 3339 in UTC and reads only what
// ParseTime accepts, so that whatever iter8 writes any process can read.
type Time struct{ time.Time }

// MarshalJSON writes RFC 3339 with nanoseconds, in UTC. A time outside
// years 1 to 9999 is an error: written, it could not be read back.
func (t Time) MarshalJSON() ([]byte, error) {
	u := t.UTC()
	if y := u.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("time %s is outside years 0001 to 9999", u.Format(time.RFC3339Nano))
	}
	return []byte(`"` + u.Format(time.RFC3339Nano) + `"`), nil
}

// UnmarshalJSON reads a JSON string that ParseTime accepts.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("time must be an RFC 3339 string, got %s", Clip(string(b), maxTimeText))
	}
	s := string(b[1 : len(b)-1])
	if strings.IndexByte(s, '\\') >= 0 {
		// Escaped characters: read the string as a schema validator does.
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("time: %w", err)
		}
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// Duration is a time.Duration written as Go duration text ("90s", "2h").
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads Go duration text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf(`duration must be a string such as "2h", got %s`, Clip(string(b), maxTimeText))
	}
	v, err := time.ParseDuration(string(b[1 : len(b)-1]))
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	d.Duration = v
	return nil
}
