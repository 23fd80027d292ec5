package functions

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/store"
)

// TestGracefulShutdownFinishesInFlight cancels the server's context (as
// SIGTERM does) while an event is being handled: the event still completes
// with its real answer, readiness turns off at once, and Serve returns
// cleanly.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	cs := fake.NewSimpleClientset(service("shop", true), revision("shop", "shop-v1"), revision("shop", "shop-v2"))
	entered := make(chan struct{})
	release := make(chan struct{})
	cs.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		select {
		case entered <- struct{}{}:
			<-release // hold the first read until shutdown has begun
		default:
		}
		return false, nil, nil
	})
	st := store.New(cs.ServingV1())
	h := New(st, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	sv := NewServer(h, st)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sv.Serve(ctx, ln, 10*time.Second) }()

	answer := make(chan int, 1)
	go func() {
		r := binary(events.TypeExperimentStart, "default/shop", specJSON)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(r.body))
		for k, v := range r.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answer <- -1
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	<-entered
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for sv.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("still ready after shutdown began")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if code := <-answer; code != http.StatusOK {
		t.Fatalf("in-flight start answered %d, want 200", code)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	r, err := st.Get(context.Background(), "default", "shop")
	if err != nil || r.State == nil {
		t.Fatalf("the in-flight start was not written: %v", err)
	}
}
