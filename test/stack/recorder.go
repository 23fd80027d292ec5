package stack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Recorder is a CloudEvents receiver that stands in for a Service behind
// the Broker (a Trigger's subscriber, the dead-letter sink): it keeps every
// event it is delivered, with Knative's extensions, and acknowledges it.
type Recorder struct {
	Addr string
	srv  *http.Server
	mu   sync.Mutex
	cond *sync.Cond
	got  []cloudevents.Event
}

// NewRecorder starts a Recorder on a free loopback port.
func NewRecorder() (*Recorder, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Recorder{Addr: l.Addr().String()}
	r.cond = sync.NewCond(&r.mu)
	r.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		e, err := binding.ToEvent(req.Context(), cehttp.NewMessageFromHttpRequest(req))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, *e)
		r.cond.Broadcast()
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

// Mark is how many events the Recorder holds now, for Since.
func (r *Recorder) Mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// Since returns the events received after mark.
func (r *Recorder) Since(mark int) []cloudevents.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cloudevents.Event(nil), r.got[mark:]...)
}

// Wait blocks until an event after mark satisfies match, and returns it.
func (r *Recorder) Wait(ctx context.Context, mark int, match func(cloudevents.Event) bool) (cloudevents.Event, error) {
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := mark; ; {
		for ; i < len(r.got); i++ {
			if match(r.got[i]) {
				return r.got[i], nil
			}
		}
		if err := ctx.Err(); err != nil {
			return cloudevents.Event{}, fmt.Errorf("recorder %s: no matching event among %d: %w", r.Addr, len(r.got)-mark, err)
		}
		r.cond.Wait()
	}
}

// Stop stops the Recorder.
func (r *Recorder) Stop() { _ = r.srv.Close() }
