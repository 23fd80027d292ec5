package events

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckLabel(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"v1", true},
		{"checkout-00002", true},
		{"a", true},
		{"0", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"V1", false},
		{"-v1", false},
		{"v1-", false},
		{"v_1", false},
		{"v.1", false},
		{"v 1", false},
		{"vé", false},
	} {
		if err := CheckLabel(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckLabel(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestParseSubject(t *testing.T) {
	for _, tc := range []struct {
		in       string
		ns, name string
		errHas   string
	}{
		{in: "shop/checkout", ns: "shop", name: "checkout"},
		{in: Subject("default", "hello-1"), ns: "default", name: "hello-1"},
		{in: "checkout", errHas: "must be <namespace>/<service>"},
		{in: "", errHas: "must be <namespace>/<service>"},
		{in: "/checkout", errHas: "namespace"},
		{in: "shop/", errHas: "service"},
		{in: "shop/check/out", errHas: "service"},
		{in: "Shop/checkout", errHas: "namespace"},
		{in: "shop/Checkout", errHas: "service"},
	} {
		ns, name, err := ParseSubject(tc.in)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("ParseSubject(%q) error = %v, want one mentioning %q", tc.in, err, tc.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSubject(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff([2]string{tc.ns, tc.name}, [2]string{ns, name}); diff != "" {
			t.Errorf("ParseSubject(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
