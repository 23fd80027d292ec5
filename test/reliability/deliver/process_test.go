package deliver

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/iter8-knative/iter8/test/lockedbuf"
)

// fakeEnv makes the test binary, run by StartFunctions, stand in for
// iter8-functions: it prints what it was given and answers /readyz, so
// that the starter's options are tested without a control plane.
const fakeEnv = "DELIVER_FAKE_FUNCTIONS"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) == "1" {
		fakeFunctions()
		return
	}
	os.Exit(m.Run())
}

func fakeFunctions() {
	fs := flag.NewFlagSet("fake", flag.ExitOnError)
	listen := fs.String("listen", "", "")
	fs.String("kubeconfig", "", "")
	fs.String("grace", "", "")
	namespaces := fs.String("namespaces", "", "")
	_ = fs.Parse(os.Args[1:])
	fmt.Printf("namespaces=%s\nK_SINK=%s\nPORT=%s\n", *namespaces, os.Getenv("K_SINK"), os.Getenv("PORT"))
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(http.ResponseWriter, *http.Request) {})
	if err := http.ListenAndServe(*listen, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func TestStartFunctionsOptions(t *testing.T) {
	t.Setenv("K_SINK", "http://inherited")
	t.Setenv("PORT", "1")
	for _, tc := range []struct {
		name   string
		opts   []Option
		copied bool
		want   string
	}{
		{name: "no options clear K_SINK and PORT", want: "namespaces=\nK_SINK=\nPORT=\n"},
		{
			name:   "args, env and a log copy",
			opts:   []Option{WithArgs("--namespaces", "shop"), WithEnv("K_SINK=http://broker")},
			copied: true,
			want:   "namespaces=shop\nK_SINK=http://broker\nPORT=\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			copyTo := &lockedbuf.Buffer{}
			opts := append([]Option{WithEnv(fakeEnv + "=1")}, tc.opts...)
			if tc.copied {
				opts = append(opts, WithLog(copyTo))
			}
			f, err := StartFunctions(ctx, self, "/nonexistent/kubeconfig", opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(f.URL, "http://127.0.0.1:") {
				t.Errorf("URL %q, want a loopback one", f.URL)
			}
			// Stop waits for the process and for its output to be copied.
			f.Stop()
			if diff := cmp.Diff(tc.want, f.Log()); diff != "" {
				t.Errorf("Log (-want +got):\n%s", diff)
			}
			wantCopy := ""
			if tc.copied {
				wantCopy = tc.want
			}
			if diff := cmp.Diff(wantCopy, copyTo.String()); diff != "" {
				t.Errorf("the WithLog copy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScrape(t *testing.T) {
	page := "# HELP iter8_events_in_flight x\niter8_events_in_flight 3\niter8_write_conflicts_total{kind=\"a\"} 1\niter8_write_conflicts_total 7\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, page)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, metric string
		want         float64
		wantErr      bool
	}{
		{name: "gauge", metric: "iter8_events_in_flight", want: 3},
		{name: "the unlabelled one", metric: "iter8_write_conflicts_total", want: 7},
		{name: "a prefix is not the metric", metric: "iter8_events", wantErr: true},
		{name: "absent", metric: "iter8_nothing", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Scrape(context.Background(), srv.URL, tc.metric)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Scrape error = %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Scrape (-want +got):\n%s", diff)
			}
		})
	}
}
