package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/iter8-knative/iter8/events"
)

// TestKeyedLocksExclusiveAndBounded: writers to one Service never overlap,
// and once every writer is done the map holds nothing, however many
// Services were written.
func TestKeyedLocksExclusiveAndBounded(t *testing.T) {
	var l keyedLocks
	inside := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("ns/svc-%d", i%20)
			unlock, err := l.lock(context.Background(), key)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside[key]++
			if inside[key] != 1 {
				t.Errorf("%s: %d writers at once", key, inside[key])
			}
			mu.Unlock()
			mu.Lock()
			inside[key]--
			mu.Unlock()
			unlock()
		}()
	}
	wg.Wait()
	if n := l.size(); n != 0 {
		t.Errorf("%d lock entries left after every writer finished, want 0", n)
	}
}

// TestKeyedLocksWaitEndsWithContext: a writer waiting behind another gives
// up with a retried status when its context ends, and leaves no entry.
func TestKeyedLocksWaitEndsWithContext(t *testing.T) {
	var l keyedLocks
	unlock, err := l.lock(context.Background(), "ns/shop")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.lock(ctx, "ns/shop"); err == nil || events.IsPermanent(err) || events.StatusOf(err) != 503 {
		t.Errorf("waiting with an ended context: %v, want a transient 503", err)
	}
	unlock()
	if n := l.size(); n != 0 {
		t.Errorf("%d entries left, want 0", n)
	}
}
