// Package config holds the manifests that deploy iter8's functions to a real
// cluster (`ko apply -f config/` or `kubectl apply -k config/`), embedded so
// that tests and tools read exactly the files users apply. It must not import
// anything of iter8's.
package config

import "embed"

// Manifests are the YAML files of this directory.
//
//go:embed *.yaml
var Manifests embed.FS
