package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
)

// errSplit asks for a group's writes to be committed one by one.
var errSplit = errors.New("the API server refused a group's write: committing its members one by one")

// Update applies m to the Service's experiment once per event: when key (the
// event's dedupe key, see events.DedupeKey) was already applied, it writes
// nothing and reports a duplicate. Otherwise it reads the Service, runs m,
// checks the result and writes it with the read resourceVersion, re-reading
// and re-running m on every conflict. The key is recorded in the same write
// as the change, so an event is applied exactly once however often and
// however concurrently it is delivered.
//
// Updates of one Service in one process are group-committed: while one
// write is in flight, the next ones queue, and the first of them then
// applies every queued mutation in turn, each to the record the previous
// one produced, and writes them all in one Update. A duplicate within the
// group is recognised by the keys the group has recorded so far; a
// mutation that fails fails alone; a conflict re-reads and re-runs the
// whole group; a process killed mid-group has written all of it or none.
func (s *Store) Update(ctx context.Context, ns, name, key string, m Mutation) (Result, error) {
	return s.update(ctx, ns, name, key, m, nil)
}

// UpdateFrom is Update starting from from, a record of the Service this
// process has just read (in a List) or written, instead of a fresh read:
// one API request fewer when from is current, and when it is not, one
// conflict, a fresh read and a retry, so never a lost update.
func (s *Store) UpdateFrom(ctx context.Context, from Record, key string, m Mutation) (Result, error) {
	return s.update(ctx, from.Service.Namespace, from.Service.Name, key, m, from.Service)
}

func (s *Store) update(ctx context.Context, ns, name, key string, m Mutation, from *servingv1.Service) (Result, error) {
	id := ns + "/" + name
	c := newCommit(ctx, key, m)
	c.from = from
	if !s.queues.join(id, c) {
		select {
		case <-c.lead:
		case <-c.done:
			return c.res, c.err
		case <-ctx.Done():
		}
		if err := ctx.Err(); err != nil {
			// Gone, or given the turn too late to use it: pass it on.
			s.queues.leave(id, c)
			return Result{}, events.Transient(http.StatusServiceUnavailable,
				fmt.Errorf("service %s: waiting for this process's other writes to it: %w", id, err))
		}
	}
	batch := s.queues.take(id)
	s.commit(ctx, ns, name, batch)
	s.queues.handOff(id)
	return c.res, c.err
}

// commit writes batch, the leader's (ctx) first, in one Update, or one
// Update each when the API server refuses the group's write.
func (s *Store) commit(ctx context.Context, ns, name string, batch []*commit) {
	defer func() {
		for _, c := range batch {
			close(c.done)
		}
	}()
	live := append(make([]*commit, 0, len(batch)), batch[0])
	for _, c := range batch[1:] {
		if err := c.ctx.Err(); err != nil {
			c.err = events.Transient(http.StatusServiceUnavailable, fmt.Errorf("service %s/%s: %w", ns, name, err))
			continue
		}
		live = append(live, c)
	}
	err := s.write(ctx, ns, name, live, batch[0].from)
	if !errors.Is(err, errSplit) {
		setErr(live, err)
		return
	}
	for _, c := range live {
		c.err = nil
		setErr([]*commit{c}, s.write(ctx, ns, name, []*commit{c}, nil))
	}
}

// setErr gives err to every member of group without an error of its own.
func setErr(group []*commit, err error) {
	if err == nil {
		return
	}
	for _, c := range group {
		if c.err == nil {
			c.err = err
		}
	}
}

// write commits group in one Update, retrying on conflict; the first
// attempt starts from from when set. It returns the error that ends every
// member's write; each member's own failure is in its err.
func (s *Store) write(ctx context.Context, ns, name string, group []*commit, from *servingv1.Service) error {
	dropTraffic := false
	conflicts := 0
	for {
		err := retry.OnError(s.backoff, apierrors.IsConflict, func() error {
			err := s.attempt(ctx, ns, name, group, dropTraffic, from)
			from = nil
			if apierrors.IsConflict(err) {
				conflicts++
				s.conflicts.Add(1)
			}
			return err
		})
		for _, c := range group {
			c.res.Conflicts = conflicts
			if c.err != nil {
				c.err = mapErr(ns, name, c.err)
			}
		}
		invalid := apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)
		switch {
		case err == nil:
			return nil
		case apierrors.IsConflict(err):
			return events.Transient(http.StatusTooManyRequests,
				fmt.Errorf("service %s/%s: still conflicting after %d attempts: %w", ns, name, conflicts, err))
		case invalid && len(group) > 1:
			return errSplit
		case invalid && !dropTraffic:
			// An admission webhook refused what we validated. Keep the
			// observations: write the state again without the traffic.
			group[0].res.TrafficRejected = fmt.Errorf("service %s/%s: traffic rejected by the API server: %w", ns, name, err)
			dropTraffic = true
			continue
		case invalid:
			// Refused even without the traffic: the object itself cannot
			// take the write (say, the user's own annotations leave no
			// room for iter8's). No redelivery changes that, so a retried
			// status would only postpone losing the event.
			return events.Permanent(http.StatusUnprocessableEntity,
				fmt.Errorf("service %s/%s: the API server refused the experiment's write: %w", ns, name, err))
		}
		return mapErr(ns, name, err)
	}
}

// mapErr keeps a status the store or a mutation chose, and classifies the
// rest.
func mapErr(ns, name string, err error) error {
	var se *events.StatusError
	if errors.As(err, &se) {
		return err
	}
	return classify(ns, name, err)
}

// attempt reads the Service, runs the group's mutations in order, each on
// the record the one before produced, and writes the result once.
func (s *Store) attempt(ctx context.Context, ns, name string, group []*commit, dropTraffic bool, from *servingv1.Service) error {
	for _, c := range group {
		c.res, c.err, c.wrote = Result{TrafficRejected: c.res.TrafficRejected}, nil, false
	}
	svc := from
	if svc == nil {
		var err error
		if svc, err = s.client.Services(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return classify(ns, name, err)
		}
	}
	cur, err := s.decode(svc)
	if err != nil {
		return err
	}
	changed := false
	for _, c := range group {
		if c.key != "" && seenKey(cur.seen, c.hashed, c.legacy) {
			c.res.Duplicate = true
			continue
		}
		ch, err := c.m(cur)
		if err != nil {
			c.err = err
			continue
		}
		if ch == nil {
			continue
		}
		if dropTraffic {
			ch.Traffic = nil
		}
		next, written, err := s.apply(cur.Service, cur, ch, c.hashed)
		if err != nil {
			c.err = err
			continue
		}
		written.Service = next
		cur, changed, c.wrote = written, true, true
		c.res.Written = written
	}
	if changed {
		out, err := s.client.Services(ns).Update(ctx, cur.Service, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
		// What was written is known: no need to decode it again, now or
		// on the next event.
		s.decoded.put(ns+"/"+name, cur.Service.Annotations[AnnotationState], *cur.State, cur.seen)
		cur.Service = out
	}
	for _, c := range group {
		switch {
		case c.wrote:
			c.res.Written.Service = cur.Service
		case c.err == nil:
			c.res.Written = cur
		}
	}
	return nil
}
