package cluster

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// ApplyManifest server-side applies every object of a YAML manifest, as
// `kubectl apply --server-side` would. edit, when set, may change each
// object first (say, move it into a test's namespace) and returns whether
// to apply it for real (true) or with dry run only, so that the API server
// validates it against the installed CRDs without controllers acting on
// it. It returns how many objects it applied.
func (c *Cluster) ApplyManifest(ctx context.Context, manifest []byte, edit func(*unstructured.Unstructured) (real bool)) (int, error) {
	objs, err := DecodeYAML(manifest)
	if err != nil {
		return 0, err
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return 0, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		return 0, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	for i, u := range objs {
		real := true
		if edit != nil {
			real = edit(u)
		}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return i, fmt.Errorf("%s %s: %w", gvk, u.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		force := true
		opts := metav1.PatchOptions{FieldManager: "iter8-test", Force: &force}
		if !real {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		data, err := u.MarshalJSON()
		if err != nil {
			return i, err
		}
		if _, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, opts); err != nil {
			return i, fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return len(objs), nil
}
