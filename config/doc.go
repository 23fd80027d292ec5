// Package config holds the manifests that deploy iter8's functions to a real
// cluster, as kustomizations: base/ (functions, Broker, Triggers, PingSource,
// dead-letter sink) with the RBAC of either namespaced/ or cluster-wide/
// (`kubectl apply -k config/namespaced`), plus oidc/ on clusters with
// Eventing's OIDC authentication on. They are embedded so that tests and
// tools read exactly the files users apply. It must not import anything of
// iter8's.
package config

import "embed"

// Manifests are the YAML files of this directory's kustomizations, by path
// (e.g. "namespaced/201-role.yaml").
//
//go:embed base/*.yaml namespaced/*.yaml cluster-wide/*.yaml oidc/*.yaml
var Manifests embed.FS

// Kustomizations are the directories a user applies with `kubectl apply -k`:
// one RBAC variant, and oidc only with OIDC on.
var Kustomizations = []string{"namespaced", "cluster-wide", "oidc"}
