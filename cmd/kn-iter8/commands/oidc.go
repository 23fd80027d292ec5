package commands

import (
	"context"
	"fmt"
	"os"
	"strings"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// tokenLifetime is how long a token kn-iter8 requests lives: one send.
const tokenLifetime = 600

// ServiceAccountToken requests, through the TokenRequest API, a token of
// service account ref ("namespace/name") for audience: what Knative
// Eventing's OIDC authentication checks against the Broker's audience and
// its EventPolicy. The caller needs create on serviceaccounts/token.
func ServiceAccountToken(ctx context.Context, kube kubernetes.Interface, ref, audience string) (string, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" {
		return "", usagef("--service-account %q: want namespace/name", ref)
	}
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		Audiences: []string{audience}, ExpirationSeconds: ptr(int64(tokenLifetime)),
	}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token of service account %s for audience %s: %w", ref, audience, err)
	}
	return tr.Status.Token, nil
}

func ptr[T any](v T) *T { return &v }

// token returns the bearer token to send, or "" for none: from
// --token-file, else from --service-account for the Broker's audience.
// A Broker with an audience (OIDC on) and neither flag is an error that
// says what to pass, rather than a 401 from the broker.
func (s sendFlags) token(ctx context.Context, cl *clients, audience string) (string, error) {
	switch {
	case s.tokenFile != "":
		b, err := os.ReadFile(s.tokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case s.serviceAccount != "" && audience != "":
		if cl == nil || cl.kube == nil {
			return "", fmt.Errorf("--service-account: no cluster connection")
		}
		return ServiceAccountToken(ctx, cl.kube, s.serviceAccount, audience)
	case audience != "":
		return "", usagef("the broker requires an OIDC token for audience %q (Knative Eventing's authentication-oidc is on): "+
			"pass --service-account NS/NAME, a service account its EventPolicy admits, or --token-file", audience)
	}
	return "", nil
}
