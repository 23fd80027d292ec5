package events

import (
	"fmt"
	"strings"
)

// Documented limits. They keep one event's work, and the state it adds to a
// Service's annotations, bounded; docs/events.md repeats them and the JSON
// Schemas under schema/ encode them.
const (
	// MaxDataBytes is the largest data payload, in bytes, that the decode
	// functions accept. Larger payloads are refused with 413 before parsing.
	MaxDataBytes = 256 << 10
	// MaxEventBytes is the largest HTTP request body ReadRequest
	// lets through: MaxDataBytes of data, base64 inflation of data_base64
	// (4/3), and the envelope.
	MaxEventBytes = 512 << 10
	// MaxDepth is the deepest nesting of JSON objects and arrays accepted in
	// data. The deepest legal payload nests 6 levels; the margin is for
	// future fields, and the limit stops pathological input long before the
	// standard library's own limit of 10000.
	MaxDepth = 32
	// MaxVersions and MaxMetrics (spec_defaults.go) also bound an event:
	// versions per event and metrics per version.
	// MaxBuckets is the most histogram bounds of one quantile observation.
	MaxBuckets = 256
	// MaxCount bounds every count (trials, successes, count, bucket counts)
	// at 2^53, so that counts convert to float64 exactly in the statistics.
	MaxCount = 1 << 53
	// MaxLabelLength is the longest name: a DNS-1123 label.
	MaxLabelLength = 63
	// MaxTextLength is the longest free-text field a user sends (a control's
	// reason), in Unicode code points, since it is recorded in annotations.
	MaxTextLength = 1024
)

// CheckLabel reports whether s is a DNS-1123 label, the rule for namespaces,
// Service names, version (revision) names and metric names: 1 to 63
// characters, each a lowercase letter, a digit or '-', starting and ending
// with a letter or digit. Kubernetes applies the same rule to the names iter8
// meets, so a name that passes can be used in labels, annotations and paths
// without escaping.
func CheckLabel(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("must not be empty")
	case len(s) > MaxLabelLength:
		return fmt.Errorf("must be at most %d characters, got %d", MaxLabelLength, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if alnum || c == '-' && i != 0 && i != len(s)-1 {
			continue
		}
		return fmt.Errorf("%q must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit", s)
	}
	return nil
}

// Subject returns the CloudEvent subject that names a Service:
// "<namespace>/<name>".
func Subject(namespace, name string) string { return namespace + "/" + name }

// ParseSubject splits a subject "<namespace>/<name>" and checks that both
// parts are DNS-1123 labels.
func ParseSubject(subject string) (namespace, name string, err error) {
	ns, n, ok := strings.Cut(subject, "/")
	if !ok {
		return "", "", fmt.Errorf("subject %s must be <namespace>/<service>", Quote(subject, MaxEcho))
	}
	if err := CheckLabel(ns); err != nil {
		return "", "", fmt.Errorf("subject %s: namespace: %w", Quote(subject, MaxEcho), err)
	}
	if err := CheckLabel(n); err != nil {
		return "", "", fmt.Errorf("subject %s: service: %w", Quote(subject, MaxEcho), err)
	}
	return ns, n, nil
}
