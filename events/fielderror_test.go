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

func TestCheckLen(t *testing.T) {
	for _, tc := range []struct {
		name         string
		isNil        bool
		n, least     int
		want         []FieldError
		wantChecking bool
	}{
		{name: "missing", isNil: true, least: 1, want: []FieldError{{Path: "data.versions", Message: "required"}}},
		{name: "missing where empty is fine", isNil: true, want: []FieldError{{Path: "data.versions", Message: "required"}}},
		{name: "empty", n: 0, least: 1, want: []FieldError{{Path: "data.versions", Message: "must have at least one version"}}},
		{name: "empty allowed", n: 0, least: 0, wantChecking: true},
		{name: "within", n: 3, least: 1, wantChecking: true},
		{name: "too many, still checked", n: 4, least: 1, wantChecking: true,
			want: []FieldError{{Path: "data.versions", Message: "must have at most 3 versions, got 4"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs FieldErrors
			checking := checkLen("data.versions", tc.isNil, tc.n, "version", tc.least, 3, &errs)
			if diff := cmp.Diff(tc.want, []FieldError(errs)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if checking != tc.wantChecking {
				t.Errorf("checkLen = %v, want %v", checking, tc.wantChecking)
			}
		})
	}
}
