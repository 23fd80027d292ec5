package integration

import (
	"context"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/config"
	"github.com/iter8-knative/iter8/test/cluster"
)

// applyConfig applies every manifest of config/ to the API server, with the
// per-namespace Role and RoleBinding moved into ns. Namespaces, the service
// account and the per-namespace RBAC are created for real; the rest (the
// all-namespaces ClusterRole variant included) server-side with dry run,
// so that the API server validates them against the installed CRDs without
// the controller acting on them.
func applyConfig(ctx context.Context, t *testing.T, c *cluster.Cluster, ns string) {
	t.Helper()
	files, _ := fs.Glob(config.Manifests, "*/*.yaml")
	applied := 0
	for _, f := range files {
		if path.Base(f) == "kustomization.yaml" {
			continue
		}
		b, _ := config.Manifests.ReadFile(f)
		n, err := c.ApplyManifest(ctx, b, func(u *unstructured.Unstructured) bool {
			if u.GetKind() == "Role" || u.GetKind() == "RoleBinding" {
				u.SetNamespace(ns)
			}
			return map[string]bool{"Namespace": true, "ServiceAccount": true, "Role": true, "RoleBinding": true}[u.GetKind()]
		})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		applied += n
	}
	if applied < 10 {
		t.Fatalf("applied only %d objects", applied)
	}
}

// TestConfigAppliesAndRBACIsLeastPrivilege applies config/ and then acts as
// the functions' service account, with a real token from the TokenRequest
// API: it may read and update Knative Services in its namespace, and is
// refused patches, watches, Secrets, deletes, creates and other namespaces.
func TestConfigAppliesAndRBACIsLeastPrivilege(t *testing.T) {
	c := cluster.Shared(t)
	ns := c.Namespace(t)
	other := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	applyConfig(ctx, t, c, ns)
	sv := servingclient.NewForConfigOrDie(c.Config)
	bareService(ctx, t, sv, ns, "shop")
	bareService(ctx, t, sv, other, "shop")

	kube := kubernetes.NewForConfigOrDie(c.Config)
	tok, err := kube.CoreV1().ServiceAccounts("iter8-system").CreateToken(ctx, "iter8-functions",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptrTo[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	as := rest.AnonymousClientConfig(c.Config)
	as.BearerToken = tok.Status.Token
	fsv := servingclient.NewForConfigOrDie(as).ServingV1()
	fkube := kubernetes.NewForConfigOrDie(as)

	patch := []byte(`{"metadata":{"annotations":{"iter8.dev/status":"rbac test"}}}`)
	// The Serving controller writes the new Service too: a 409 means the
	// update was authorised and lost a race, so read again and retry, as
	// the store does.
	err = cluster.UpdateService(ctx, fsv.Services(ns), "shop", func(svc *servingv1.Service) {
		svc.Annotations = map[string]string{"iter8.dev/status": "rbac test"}
	})
	if err != nil {
		t.Errorf("reading and updating a Service in its namespace: %v, want allowed", err)
	}
	refused := map[string]error{}
	_, refused["get secrets"] = fkube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	_, refused["patch in another namespace"] = fsv.Services(other).Patch(ctx, "shop", types.MergePatchType, patch, metav1.PatchOptions{})
	_, refused["patch (the code only updates)"] = fsv.Services(ns).Patch(ctx, "shop", types.MergePatchType, patch, metav1.PatchOptions{})
	_, refused["watch (the code never watches)"] = fsv.Services(ns).Watch(ctx, metav1.ListOptions{})
	refused["delete a Service"] = fsv.Services(ns).Delete(ctx, "shop", metav1.DeleteOptions{})
	_, refused["create a Service"] = fsv.Services(ns).Create(ctx, &unstructuredService, metav1.CreateOptions{})
	_, refused["create a configmap"] = fkube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	for what, err := range refused {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", what, err)
		} else if !strings.Contains(err.Error(), "system:serviceaccount:iter8-system:iter8-functions") {
			t.Errorf("%s: refused, but not as the service account: %v", what, err)
		}
	}
}

var unstructuredService = func() (s servingv1.Service) {
	s.Name = "intruder"
	s.Spec.Template.Spec.Containers = []corev1.Container{{Image: image}}
	return s
}()
