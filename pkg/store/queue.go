package store

import (
	"context"
	"sync"

	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// maxGroup bounds how many queued writes one commit folds into one Update:
// enough to absorb a burst on a hot Service, few enough that one commit's
// mutations stay a small share of a request's deadline.
const maxGroup = 64

// A commit is one writer's request to update a Service: its event key, its
// mutation, and, once done is closed, its outcome.
type commit struct {
	ctx            context.Context
	key            string
	hashed, legacy string
	m              Mutation
	from           *servingv1.Service // a recent read to start from, if any

	res   Result
	err   error
	wrote bool          // the last attempt put this change into the write
	lead  chan struct{} // closed when this writer is to commit the queue
	done  chan struct{} // closed when res and err are final
}

func newCommit(ctx context.Context, key string, m Mutation) *commit {
	return &commit{ctx: ctx, key: key, hashed: hashKey(key), legacy: legacyHash(key), m: m,
		lead: make(chan struct{}), done: make(chan struct{})}
}

// commitQueues lets writers in one process take turns per Service and fold
// their turns together (group commit): the writer whose turn it is, the
// leader, takes every write queued for the Service and commits them in one
// Update, while the others wait for their outcome. Conflicts then only
// arise between processes, and a hot Service takes one write per burst,
// not one per event. A queue lives only while someone writes or waits, so
// the map is as large as the number of Services being written at this
// moment, not the number ever written.
type commitQueues struct {
	mu sync.Mutex
	m  map[string]*queue
}

type queue struct {
	pending []*commit
	leader  *commit // the writer whose turn it is; nil when none
}

// join queues c for Service key and reports whether c leads at once (no
// one else was writing the Service).
func (q *commitQueues) join(key string, c *commit) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.m == nil {
		q.m = map[string]*queue{}
	}
	e, ok := q.m[key]
	if !ok {
		e = &queue{}
		q.m[key] = e
	}
	e.pending = append(e.pending, c)
	if e.leader == nil {
		e.leader = c
		close(c.lead)
		return true
	}
	return false
}

// take hands the leader of key the writes queued for it, its own first,
// at most maxGroup of them.
func (q *commitQueues) take(key string) []*commit {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.m[key]
	n := min(len(e.pending), maxGroup)
	batch := append([]*commit(nil), e.pending[:n]...)
	e.pending = append(e.pending[:0:0], e.pending[n:]...)
	return batch
}

// handOff ends the leader's turn: the first writer still queued leads next,
// or the queue goes.
func (q *commitQueues) handOff(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next(key, q.m[key])
}

func (q *commitQueues) next(key string, e *queue) {
	if len(e.pending) == 0 {
		e.leader = nil
		delete(q.m, key)
		return
	}
	e.leader = e.pending[0]
	close(e.leader.lead)
}

// leave takes c, whose context ended, out of key's queue. If its turn had
// come meanwhile, the turn passes on. c may already be in a leader's
// batch: then its change may still be written, which a redelivery finds
// as a duplicate.
func (q *commitQueues) leave(key string, c *commit) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.m[key]
	if !ok {
		return
	}
	for i, p := range e.pending {
		if p == c {
			e.pending = append(e.pending[:i:i], e.pending[i+1:]...)
			break
		}
	}
	if e.leader == c {
		q.next(key, e)
	}
}

// size is the number of queues (for tests).
func (q *commitQueues) size() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.m)
}

// queued is how many writers wait behind key's leader (for tests).
func (q *commitQueues) queued(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.m[key]; ok {
		return len(e.pending)
	}
	return 0
}
