package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestDataPlaneStopLetsAPassFinish stops the stand-in while the apiserver
// is sending it a list: the list must still be read whole and acted on
// (the Deployment it names marked available) before run returns. A stop
// that cut the read short made client-go log an error line at the end of
// `make demo KIND=canary-bad`.
func TestDataPlaneStopLetsAPassFinish(t *testing.T) {
	headers := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var marked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/apis/apps/v1/deployments":
			list := appsv1.DeploymentList{
				TypeMeta: metav1.TypeMeta{Kind: "DeploymentList", APIVersion: "apps/v1"},
				Items: []appsv1.Deployment{{
					TypeMeta:   metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
					ObjectMeta: metav1.ObjectMeta{Name: "shop-v1-deployment", Namespace: "demo", Generation: 1},
				}},
			}
			// The first list's headers go out, then its body waits for
			// the stop.
			once.Do(func() {
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				close(headers)
				<-release
			})
			_ = json.NewEncoder(w).Encode(list)
		case r.Method == http.MethodPut && r.URL.Path == "/apis/apps/v1/namespaces/demo/deployments/shop-v1-deployment/status":
			// The clientset may send protobuf: the path names the object,
			// and the reply echoes the body in the request's own type.
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			marked = append(marked, path.Base(path.Dir(r.URL.Path)))
			mu.Unlock()
			w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
			_, _ = w.Write(b)
		default:
			// Empty lists of PodAutoscalers and KIngresses.
			_, _ = w.Write([]byte(`{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}`))
		}
	}))
	defer srv.Close()

	d, err := newDataPlane(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.run(ctx)
	}()
	<-headers
	cancel()
	close(release)
	<-done

	mu.Lock()
	defer mu.Unlock()
	if len(marked) != 1 || marked[0] != "shop-v1-deployment" {
		t.Errorf("Deployments marked available after a stop mid-list = %q, want [shop-v1-deployment]: the stop cut the pass short", marked)
	}
}
