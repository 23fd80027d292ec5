package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iter8-knative/iter8/cmd/kn-iter8/commands"
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/test/cluster"
)

// TestOIDCTokenForBrokerAudience: the token `kn iter8 start
// --service-account` sends is a real service-account token from the API
// server's TokenRequest, bound to the Broker's audience: a TokenReview for
// that audience (what Eventing's broker ingress does) authenticates it as
// the service account, and one for another audience refuses it; and the
// functions' K_SINK sender, given that token in a file, is authenticated
// by a sink that reviews tokens as the broker ingress does.
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

	// The functions' K_SINK sender with that token in its file (where a
	// SinkBinding mounts it): a sink that authenticates senders as the
	// broker ingress does, by a TokenReview for the Broker's audience,
	// accepts the event as sent by the service account.
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	who := make(chan string, 1)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bearer, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		rv, err := kube.AuthenticationV1().TokenReviews().Create(r.Context(), &authv1.TokenReview{Spec: authv1.TokenReviewSpec{
			Token: bearer, Audiences: []string{audience}}}, metav1.CreateOptions{})
		if err != nil || !rv.Status.Authenticated {
			who <- ""
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		who <- rv.Status.User.Username
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sink.Close()
	emit, err := functions.SinkEmitter(sink.URL, functions.WithTokenFile(file))
	if err != nil {
		t.Fatal(err)
	}
	ev := cloudevents.NewEvent()
	ev.SetID("oidc")
	ev.SetSource(functions.DefaultSource)
	ev.SetType(events.TypeExperimentFailed)
	if err := emit(ctx, ev); err != nil {
		t.Errorf("K_SINK send with the token: %v", err)
	}
	if u := <-who; u != "system:serviceaccount:iter8-system:iter8-functions" {
		t.Errorf("the sink authenticated the sender as %q, want the service account", u)
	}
}
