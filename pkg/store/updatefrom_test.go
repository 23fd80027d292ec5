package store

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	"knative.dev/serving/pkg/client/clientset/versioned/fake"
)

// versioned is a fake API server that keeps resourceVersions as the real
// one does: an Update of anything but the current version is a conflict.
func versioned(t *testing.T) (*fake.Clientset, *atomic.Int64) {
	t.Helper()
	cs := fake.NewSimpleClientset(&servingv1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default", ResourceVersion: "1"}})
	gvr := servingv1.SchemeGroupVersion.WithResource("services")
	var gets atomic.Int64
	cs.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets.Add(1)
		return false, nil, nil
	})
	cs.PrependReactor("update", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		svc := a.(k8stesting.UpdateAction).GetObject().(*servingv1.Service).DeepCopy()
		cur, err := cs.Tracker().Get(gvr, "default", "shop")
		if err != nil {
			return true, nil, err
		}
		rv := cur.(*servingv1.Service).ResourceVersion
		if svc.ResourceVersion != rv {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), "shop", errors.New("stale"))
		}
		n, _ := strconv.Atoi(rv)
		svc.ResourceVersion = strconv.Itoa(n + 1)
		return true, svc, cs.Tracker().Update(gvr, svc, "default")
	})
	return cs, &gets
}

// TestUpdateFrom: an update that starts from a record just read or
// written makes no read of its own; one that starts from a stale record
// conflicts, reads and writes again, losing nothing.
func TestUpdateFrom(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		stale                bool
		wantGets, wantConfls int
	}{{"current record", false, 0, 0}, {"stale record", true, 1, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cs, gets := versioned(t)
			s := New(cs.ServingV1())
			first, err := s.Update(ctx, "default", "shop", "a", bump(false, false))
			if err != nil {
				t.Fatal(err)
			}
			if tc.stale {
				if _, err := New(cs.ServingV1()).Update(ctx, "default", "shop", "other", bump(false, false)); err != nil {
					t.Fatal(err)
				}
			}
			gets.Store(0)
			res, err := s.UpdateFrom(ctx, first.Written, "b", bump(false, false))
			if err != nil {
				t.Fatal(err)
			}
			got := []int{int(gets.Load()), res.Conflicts}
			if diff := cmp.Diff([]int{tc.wantGets, tc.wantConfls}, got); diff != "" {
				t.Errorf("reads and conflicts (-want +got):\n%s", diff)
			}
			r, err := New(cs.ServingV1()).Get(ctx, "default", "shop")
			want := 2
			if tc.stale {
				want = 3
			}
			if err != nil || r.State.Iteration != want {
				t.Errorf("iteration %v (%v), want %d: every write kept", r.State, err, want)
			}
		})
	}
}
