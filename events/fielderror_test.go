package events

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFieldErrors(t *testing.T) {
	var errs FieldErrors
	if errs.Err() != nil {
		t.Fatalf("empty FieldErrors.Err() = %v, want nil", errs.Err())
	}
	errs.Add(Key(Field("data", "versions"), "shop-v2"), "must be %s", "short")
	errs.Add(Index(Field("data", "bounds"), 3), "bad")
	errs.Add("", "whole event")
	want := `data.versions["shop-v2"]: must be short; data.bounds[3]: bad; whole event`
	if got := errs.Err().Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	wrapped := fmt.Errorf("event x: %w", errs.Err())
	var fe FieldErrors
	if !errors.As(wrapped, &fe) || len(fe) != 3 {
		t.Fatalf("errors.As(FieldErrors) = %v, want the 3 errors", fe)
	}
	var one FieldError
	if !errors.As(wrapped, &one) || one.Path != `data.versions["shop-v2"]` {
		t.Errorf("errors.As(FieldError) = %+v, want the first error", one)
	}
	if diff := cmp.Diff(errs, FieldErrorsOf(wrapped)); diff != "" {
		t.Errorf("FieldErrorsOf (-want +got):\n%s", diff)
	}
	if FieldErrorsOf(errors.New("plain")) != nil {
		t.Errorf("FieldErrorsOf(plain error) != nil")
	}
}

func TestPathHelpers(t *testing.T) {
	got := []string{
		Field("", "a"),
		Field("a", "b"),
		Key("m", `we"ird`),
		Index("l", 12),
	}
	want := []string{"a", "a.b", `m["we\"ird"]`, "l[12]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
