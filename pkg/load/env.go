package load

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The environment variables of the generator's ceiling.
const (
	// EnvMaxRate caps every burst's rate (requests/s, default
	// DefaultMaxRate).
	EnvMaxRate = "ITER8_LOAD_MAX_RATE"
	// EnvMaxBurst caps every burst's length, warm-up included, as a Go
	// duration (default DefaultMaxBurst).
	EnvMaxBurst = "ITER8_LOAD_MAX_BURST"
)

// FromEnv returns the options that set the ceiling from lookup
// (os.LookupEnv). A value that does not parse, or is not above zero, is
// an error naming the variable: a ceiling must never silently vanish.
func FromEnv(lookup func(string) (string, bool)) ([]Option, error) {
	var opts []Option
	if v, ok := lookup(EnvMaxRate); ok && strings.TrimSpace(v) != "" {
		r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(r > 0) {
			return nil, fmt.Errorf("%s=%q: want a rate above 0 requests/s", EnvMaxRate, v)
		}
		opts = append(opts, WithMaxRate(r))
	}
	if v, ok := lookup(EnvMaxBurst); ok && strings.TrimSpace(v) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s=%q: want a Go duration above 0 such as 15s", EnvMaxBurst, v)
		}
		opts = append(opts, WithMaxBurst(d))
	}
	return opts, nil
}
