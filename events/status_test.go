package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestErrorClasses is the error-to-status table docs/events.md documents,
// checked against Knative's retry rule.
func TestErrorClasses(t *testing.T) {
	base := errors.New("boom")
	type row struct {
		Status    int
		Permanent bool
		Retried   bool
	}
	for _, tc := range []struct {
		name string
		err  error
		want row
	}{
		{"nil", nil, row{200, false, false}},
		{"plain error", base, row{500, false, true}},
		{"context canceled", context.Canceled, row{500, false, true}},
		{"malformed", Permanent(http.StatusBadRequest, base), row{400, true, false}},
		{"unknown service", Permanent(http.StatusUnprocessableEntity, base), row{422, true, false}},
		{"too large", Permanent(http.StatusRequestEntityTooLarge, base), row{413, true, false}},
		{"wrong content type", Permanent(http.StatusUnsupportedMediaType, base), row{415, true, false}},
		{"unauthorized", Permanent(http.StatusUnauthorized, base), row{401, true, false}},
		{"forbidden", Permanent(http.StatusForbidden, base), row{403, true, false}},
		{"permanent with a retried status becomes 400", Permanent(http.StatusServiceUnavailable, base), row{400, true, false}},
		{"permanent 404 becomes 400", Permanent(http.StatusNotFound, base), row{400, true, false}},
		{"permanent 409 becomes 400", Permanent(http.StatusConflict, base), row{400, true, false}},
		{"permanent 200 becomes 400", Permanent(http.StatusOK, base), row{400, true, false}},
		{"API server unavailable", Transient(http.StatusServiceUnavailable, base), row{503, false, true}},
		{"conflicts exhausted", Transient(http.StatusTooManyRequests, base), row{429, false, true}},
		{"transient 500", Transient(http.StatusInternalServerError, base), row{500, false, true}},
		{"transient with an unretried status becomes 503", Transient(http.StatusBadRequest, base), row{503, false, true}},
		{"wrapped permanent", fmt.Errorf("assess shop/checkout: %w", Permanent(422, base)), row{422, true, false}},
		{"wrapped transient", fmt.Errorf("update: %w", Transient(503, base)), row{503, false, true}},
		{"joined: the first class wins", errors.Join(Transient(503, base), Permanent(400, base)), row{503, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := StatusOf(tc.err)
			got := row{s, IsPermanent(tc.err), Retried(s)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.err != nil && !errors.Is(tc.err, base) && tc.err != context.Canceled {
				t.Errorf("%v does not wrap the cause", tc.err)
			}
		})
	}
}

func TestRetried(t *testing.T) {
	var retried []int
	for s := 100; s < 600; s++ {
		if Retried(s) {
			retried = append(retried, s)
		}
	}
	want := []int{404, 408, 409, 429}
	for s := 500; s < 600; s++ {
		want = append(want, s)
	}
	if diff := cmp.Diff(want, retried); diff != "" {
		t.Errorf("retried statuses (-want +got):\n%s", diff)
	}
}

func TestStatusErrorMessage(t *testing.T) {
	err := Permanent(422, errors.New("no experiment on shop/checkout"))
	if got, want := err.Error(), "permanent error (HTTP 422): no experiment on shop/checkout"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := Transient(503, errors.New("x")).Error(), "transient error (HTTP 503): x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
