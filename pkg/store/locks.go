package store

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/iter8-knative/iter8/events"
)

// keyedLocks lets writers in one process take turns per Service. An entry
// lives only while someone holds or waits for it, so the map is as large as
// the number of Services being written at this moment, not the number ever
// written. A waiter gives up when its context ends, so a request's deadline
// bounds the wait too.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	refs int           // holders and waiters
	ch   chan struct{} // a token in the channel means held
}

// lock takes the lock of key, or returns a transient error when ctx ends
// first. The returned function releases it.
func (l *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*keyedLock{}
	}
	e, ok := l.m[key]
	if !ok {
		e = &keyedLock{ch: make(chan struct{}, 1)}
		l.m[key] = e
	}
	e.refs++
	l.mu.Unlock()

	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; l.release(key, e) }, nil
	case <-ctx.Done():
		l.release(key, e)
		return nil, events.Transient(http.StatusServiceUnavailable,
			fmt.Errorf("service %s: waiting for this process's other write to it: %w", key, ctx.Err()))
	}
}

func (l *keyedLocks) release(key string, e *keyedLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.refs--; e.refs == 0 {
		delete(l.m, key)
	}
}

// size is the number of entries (for tests).
func (l *keyedLocks) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
