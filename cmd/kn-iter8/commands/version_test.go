package commands

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVersion(t *testing.T) {
	stamped := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/iter8-knative/iter8", Version: "v0.3.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-11-30T14:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	h := newHarness(t, nil)
	h.env.buildInfo = stamped
	if code := h.run("version"); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	for _, want := range []string{"Version:      v0.3.0\n", "Build Date:   2026-11-30T14:00:00Z\n", "Git Revision: 0123abc (modified)\n",
		"Go:           go1.26.8 ", "- serving.knative.dev/v1 (Service)\n"} {
		if !strings.Contains(h.stdout.String(), want) {
			t.Errorf("version lacks %q:\n%s", want, h.stdout)
		}
	}
	if code := h.run("version", "-o", "json"); code != exitOK {
		t.Fatalf("-o json: exit %d: %s", code, h.stderr)
	}
	var got Version
	if err := json.Unmarshal(h.stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := readVersion(stamped)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-o json (-want +got):\n%s", diff)
	}

	// A binary without build information (not built by the go command).
	h.env.buildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	if code := h.run("version"); code != exitOK || !strings.Contains(h.stdout.String(), "Version:      unknown\n") {
		t.Errorf("without build info: exit %d:\n%s%s", code, h.stdout, h.stderr)
	}
}

func TestCompletion(t *testing.T) {
	h := newHarness(t, nil)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if code := h.run("completion", shell); code != exitOK || !strings.Contains(h.stdout.String(), "kn-iter8") {
			t.Errorf("completion %s: exit %d, %d bytes: %s", shell, code, h.stdout.Len(), h.stderr)
		}
	}
	// The scripts ask the binary itself: its answers name the commands.
	if code := h.run("__complete", "ver"); code != exitOK || !strings.Contains(h.stdout.String(), "version") {
		t.Errorf("__complete ver: exit %d:\n%s", code, h.stdout)
	}
}
