package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/ptr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// Targets turns a split into spec.traffic: one revisionName target per
// version in order (then any others, sorted), each tagged so that every
// version keeps its own URL, even at 0%. The block is checked with Knative's
// own validation, since no admission webhook may stand between us and the
// API server.
func Targets(service string, order []string, split map[string]int) ([]servingv1.TrafficTarget, error) {
	names := make([]string, 0, len(split))
	for _, v := range order {
		if _, ok := split[v]; ok {
			names = append(names, v)
		}
	}
	var rest []string
	for v := range split {
		if !slices.Contains(names, v) {
			rest = append(rest, v)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)

	used := map[string]bool{}
	out := make([]servingv1.TrafficTarget, 0, len(names))
	for _, v := range names {
		tag := Tag(service, v)
		if used[tag] {
			tag = v
		}
		used[tag] = true
		out = append(out, servingv1.TrafficTarget{
			Tag:            tag,
			RevisionName:   v,
			Percent:        ptr.Int64(int64(split[v])),
			LatestRevision: ptr.Bool(false),
		})
	}
	ctx := servingv1.WithDefaultConfigurationName(apis.WithinSpec(context.Background()))
	rs := servingv1.RouteSpec{Traffic: out}
	if fe := rs.Validate(ctx).Filter(apis.ErrorLevel); fe != nil {
		return nil, fmt.Errorf("traffic %v is invalid: %w", split, fe)
	}
	return out, nil
}

// Tag is the traffic tag of a version: the revision name without the
// "<service>-" prefix Knative gives generated names, so that shop-v2 of
// Service shop is reachable as v2-shop.<namespace>.<domain>.
func Tag(service, revision string) string {
	t := strings.TrimPrefix(revision, service+"-")
	if t == "" || len(validation.IsDNS1035Label(t)) > 0 {
		return revision
	}
	return t
}

// Split reads spec.traffic as percent per revision. Targets that follow the
// latest revision are reported under the Service's latest created revision
// name, or "@latest" when none is known.
func Split(svc *servingv1.Service) map[string]int {
	out := map[string]int{}
	for _, t := range svc.Spec.Traffic {
		name := t.RevisionName
		if t.LatestRevision != nil && *t.LatestRevision || name == "" {
			name = svc.Status.LatestCreatedRevisionName
			if name == "" {
				name = "@latest"
			}
		}
		if t.Percent != nil {
			out[name] += int(*t.Percent)
		}
	}
	if len(svc.Spec.Traffic) == 0 {
		name := svc.Status.LatestReadyRevisionName
		if name == "" {
			name = "@latest"
		}
		out[name] = 100
	}
	return out
}
