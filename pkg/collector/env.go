package collector

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Environment variables FromEnv reads.
const (
	// EnvURL is Prometheus's address; unset or empty disables collection.
	EnvURL = "ITER8_PROMETHEUS_URL"
	// EnvPreset names the Names to use: a key of Presets (default
	// knative-otel).
	EnvPreset = "ITER8_PROMETHEUS_PRESET"
	// EnvLookback and EnvDelay are Go durations for WithLookback and
	// WithDelay.
	EnvLookback = "ITER8_PROMETHEUS_LOOKBACK"
	EnvDelay    = "ITER8_PROMETHEUS_DELAY"
)

// FromEnv builds a Collector from the environment, read through lookup
// (os.LookupEnv in a binary). enabled is false, with no error, when
// ITER8_PROMETHEUS_URL is unset or empty. opts apply after the
// environment's settings.
func FromEnv(lookup func(string) (string, bool), opts ...Option) (c *Collector, enabled bool, err error) {
	url, _ := lookup(EnvURL)
	if strings.TrimSpace(url) == "" {
		return nil, false, nil
	}
	var env []Option
	if p, ok := lookup(EnvPreset); ok && p != "" {
		preset, known := Presets[p]
		if !known {
			keys := make([]string, 0, len(Presets))
			for k := range Presets {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return nil, false, fmt.Errorf("%s=%q: want one of %s", EnvPreset, p, strings.Join(keys, ", "))
		}
		env = append(env, WithNames(preset()))
	}
	for _, d := range []struct {
		name string
		opt  func(time.Duration) Option
	}{{EnvLookback, WithLookback}, {EnvDelay, WithDelay}} {
		if s, ok := lookup(d.name); ok && s != "" {
			v, err := time.ParseDuration(s)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", d.name, err)
			}
			env = append(env, d.opt(v))
		}
	}
	rt, err := AccessFromEnv(lookup)
	if err != nil {
		return nil, false, err
	}
	if rt != nil {
		env = append(env, WithRoundTripper(rt))
	}
	c, err = New(strings.TrimSpace(url), append(env, opts...)...)
	if err != nil {
		return nil, false, err
	}
	return c, true, nil
}
