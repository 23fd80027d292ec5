package store

import (
	"slices"
	"sync"

	"github.com/iter8-knative/iter8/pkg/experiment"
)

// maxCached bounds the decoded states one process keeps: one per Service it
// has handled recently.
const maxCached = 1024

// stateCache remembers, per Service, the state annotation this process last
// read or wrote, decoded, so that the next event on that Service does not
// parse it again (parsing was a third of an event's work). It is keyed by
// the annotation's exact text, so a hit is always what parsing would have
// given, however stale the entry; callers get deep copies.
type stateCache struct {
	mu sync.Mutex
	m  map[string]cachedState
}

type cachedState struct {
	text  string
	state experiment.State
	seen  []string
}

// get returns the state decoded from text for Service key, if cached.
func (c *stateCache) get(key, text string) (experiment.State, []string, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || e.text != text {
		return experiment.State{}, nil, false
	}
	return e.state.Clone(), slices.Clone(e.seen), true
}

// put remembers that text decodes to st and seen for Service key.
func (c *stateCache) put(key, text string, st experiment.State, seen []string) {
	e := cachedState{text: text, state: st.Clone(), seen: slices.Clone(seen)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		// Rare, and cheap to rebuild: start over rather than track ages.
		c.m = make(map[string]cachedState)
	}
	c.m[key] = e
}
