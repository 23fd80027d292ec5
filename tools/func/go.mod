module github.com/iter8-knative/iter8/tools/func

go 1.24

replace github.com/imdario/mergo => dario.cat/mergo v1.0.1

require (
	knative.dev/func v0.44.0
	sigs.k8s.io/yaml v1.4.0
)

require github.com/go-git/go-billy/v5 v5.6.1 // indirect
