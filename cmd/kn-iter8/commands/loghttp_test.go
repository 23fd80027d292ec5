package commands

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// took matches the time a line reports, which varies.
var took = regexp.MustCompile(` took=[0-9.]+[µnm]?s`)

func TestLogTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, tc := range []struct {
		name, url, want string
	}{{
		name: "request and response, the query left out",
		url:  srv.URL + "/x?token=secret",
		want: "level=DEBUG msg=\"http request\" method=GET url=" + srv.URL + "/x\n" +
			"level=DEBUG msg=\"http response\" method=GET url=" + srv.URL + "/x status=201\n",
	}, {
		name: "an error",
		url:  gone.URL + "/y",
		want: "level=DEBUG msg=\"http request\" method=GET url=" + gone.URL + "/y\n" +
			"level=DEBUG msg=\"http error\" method=GET url=" + gone.URL + "/y error=\"dial tcp " + strings.TrimPrefix(gone.URL, "http://") + ": connect: connection refused\"\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			l := slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug,
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				}}))
			c := loggedClient(&http.Client{}, l)
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
			req.Header.Set("Authorization", "Bearer secret")
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
			got := took.ReplaceAllString(b.String(), "")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
			if strings.Contains(b.String(), "secret") {
				t.Errorf("the log shows the token or query:\n%s", b.String())
			}
		})
	}
}

// TestLogHTTPFlag checks --log-http on both clients the plugin has: the
// event sent to the sink, and the cluster's API.
func TestLogHTTPFlag(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flags  []string
		logged bool
	}{
		{name: "off by default"},
		{name: "--log-http", flags: []string{"--log-http"}, logged: true},
		{name: "--no-log-http wins", flags: []string{"--log-http", "--no-log-http"}},
	} {
		t.Run(tc.name+": the event", func(t *testing.T) {
			s := newSink(t, http.StatusOK)
			h := newHarness(t, freshService())
			args := append([]string{"start", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--sink", s.URL}, tc.flags...)
			if code := h.run(args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, h.stderr)
			}
			want := []string{}
			if tc.logged {
				want = []string{`msg="http request" method=POST url=` + s.URL, `msg="http response" method=POST url=` + s.URL + " status=200"}
			}
			if diff := cmp.Diff(want, httpLines(h.stderr.String())); diff != "" {
				t.Errorf("stderr's HTTP lines (-want +got):\n%s", diff)
			}
		})
		t.Run(tc.name+": the API server", func(t *testing.T) {
			api := httptest.NewServer(http.NotFoundHandler())
			defer api.Close()
			path := writeFile(t, "kubeconfig", `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+api.URL+`"}}]
users: [{name: u, user: {token: secret}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: shop}}]
current-context: c
`)
			var stderr bytes.Buffer
			kf := &kubeFlags{kubeconfig: path, httpLog: &stderr}
			for _, f := range tc.flags {
				kf.logHTTP = kf.logHTTP || f == "--log-http"
				kf.noLogHTTP = kf.noLogHTTP || f == "--no-log-http"
			}
			cl, err := kubeClients(kf)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = cl.serving.Services("shop").Get(context.Background(), "web", metav1.GetOptions{})
			want := []string{}
			if tc.logged {
				u := api.URL + "/apis/serving.knative.dev/v1/namespaces/shop/services/web"
				want = []string{`msg="http request" method=GET url=` + u, `msg="http response" method=GET url=` + u + " status=404"}
			}
			if diff := cmp.Diff(want, httpLines(stderr.String())); diff != "" {
				t.Errorf("HTTP lines (-want +got):\n%s", diff)
			}
		})
	}
}

// httpLines are the --log-http lines of out, without their time.
func httpLines(out string) []string {
	lines := []string{}
	for _, l := range strings.Split(out, "\n") {
		if i := strings.Index(l, ` msg="http `); i >= 0 {
			lines = append(lines, took.ReplaceAllString(l[i+1:], ""))
		}
	}
	return lines
}
