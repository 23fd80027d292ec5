package commands

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

// TestOIDCToken: a token file's token travels as a bearer token; a broker
// with an audience and no way to get a token is refused before sending,
// naming the flags; without an audience nothing is added.
func TestOIDCToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	ev := event.New()
	ev.SetID("x")
	ev.SetSource(source)
	ev.SetType("dev.iter8.experiment.control")

	tok, err := sendFlags{tokenFile: file}.token(context.Background(), nil, "ignored")
	if err != nil || tok != "tok-123" {
		t.Fatalf("token file: %q %v", tok, err)
	}
	if _, _, err := post(context.Background(), srv.Client(), srv.URL, tok, ev); err != nil {
		t.Fatal(err)
	}
	if a := <-got; a != "Bearer tok-123" {
		t.Errorf("Authorization %q, want the token file's", a)
	}
	if _, err := (sendFlags{}).token(context.Background(), nil, "eventing.knative.dev/broker/iter8-system/iter8"); err == nil ||
		!strings.Contains(err.Error(), "--service-account") || !strings.Contains(err.Error(), "eventing.knative.dev/broker/iter8-system/iter8") {
		t.Errorf("audience without a token: %v, want an error naming the audience and --service-account", err)
	}
	if tok, err := (sendFlags{}).token(context.Background(), nil, ""); tok != "" || err != nil {
		t.Errorf("no audience: %q %v, want no token", tok, err)
	}
}
