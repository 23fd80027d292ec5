package integration

import (
	"context"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iter8-knative/iter8/cmd/kn-iter8/commands"
	"github.com/iter8-knative/iter8/test/cluster"
)

// TestOIDCTokenForBrokerAudience: the token `kn iter8 start
// --service-account` sends is a real service-account token from the API
// server's TokenRequest, bound to the Broker's audience: a TokenReview for
// that audience (what Eventing's broker ingress does) authenticates it as
// the service account, and one for another audience refuses it.
func TestOIDCTokenForBrokerAudience(t *testing.T) {
	c := cluster.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	applyConfig(ctx, t, c, c.Namespace(t)) // the functions' service account
	kube := kubernetes.NewForConfigOrDie(c.Config)
	const audience = "eventing.knative.dev/broker/iter8-system/iter8"
	tok, err := commands.ServiceAccountToken(ctx, kube, "iter8-system/iter8-functions", audience)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		audience string
		ok       bool
	}{{audience, true}, {"eventing.knative.dev/broker/other/other", false}} {
		r, err := kube.AuthenticationV1().TokenReviews().Create(ctx, &authv1.TokenReview{Spec: authv1.TokenReviewSpec{
			Token: tok, Audiences: []string{tc.audience}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status.Authenticated != tc.ok {
			t.Errorf("audience %s: authenticated %v (%s), want %v", tc.audience, r.Status.Authenticated, r.Status.Error, tc.ok)
		}
		if tc.ok && r.Status.User.Username != "system:serviceaccount:iter8-system:iter8-functions" {
			t.Errorf("authenticated as %q, want the service account", r.Status.User.Username)
		}
	}
}
