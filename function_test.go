package function

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/pkg/store"
)

// TestHandleDelegates: Handle answers as the functions' server does, with
// the status of each error class in the result: a Service not opted in is
// a permanent 403, an unknown type a 400, and an unstarted instance a
// retried 503.
func TestHandleDelegates(t *testing.T) {
	if _, err := New().Handle(context.Background(), event.New()); status(err) != 503 {
		t.Errorf("unstarted: %v, want 503", err)
	}
	cs := fake.NewSimpleClientset(&servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "default"}})
	st := store.New(cs.ServingV1())
	f := &Function{sv: functions.NewServer(functions.New(st, functions.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))), st)}
	f.sv.Timeouts = functions.TimeoutsFor(30 * time.Second)
	for _, tc := range []struct {
		typ  string
		want int
	}{{events.TypeExperimentControl, 403}, {"com.example.unknown", 400}} {
		e := event.New()
		e.SetID("x")
		e.SetSource("/test")
		e.SetType(tc.typ)
		e.SetSubject("default/legacy")
		_ = e.SetData(event.ApplicationJSON, []byte(`{"action":"pause"}`))
		if _, err := f.Handle(context.Background(), e); status(err) != tc.want {
			t.Errorf("%s: %v, want %d", tc.typ, err, tc.want)
		}
	}
}

func status(err error) int {
	var r *cehttp.Result
	if protocol.ResultAs(err, &r) {
		return r.StatusCode
	}
	return 0
}
