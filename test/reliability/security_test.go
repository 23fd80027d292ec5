package reliability

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	servingclient "knative.dev/serving/pkg/client/clientset/versioned"

	"github.com/iter8-knative/iter8/config"
	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/functions"
	"github.com/iter8-knative/iter8/pkg/store"
	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// TestSlowClientsCutOff holds connections open the way a slowloris does:
// headers sent a byte at a time, and a body trickled slower than the read
// timeout. With short Server.Timeouts the server must hang up before the
// client has finished, and keep serving others.
func TestSlowClientsCutOff(t *testing.T) {
	t.Parallel()
	c := cluster.Shared(t)
	st := store.New(servingclient.NewForConfigOrDie(c.Config).ServingV1())
	srv := functions.NewServer(functions.New(st, functions.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))), st)
	srv.Timeouts = functions.Timeouts{ReadHeader: 300 * time.Millisecond, Read: time.Second, Write: 2 * time.Second, Idle: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := ln.Addr().String()

	head := "POST / HTTP/1.1\r\nHost: " + addr + "\r\nCe-Specversion: 1.0\r\nCe-Id: slow\r\nCe-Source: /slow\r\n" +
		"Ce-Type: " + events.TypeExperimentControl + "\r\nCe-Subject: default/shop\r\nContent-Type: application/json\r\n"
	body := `{"action":"pause","reason":"` + strings.Repeat("z", 60) + `"}`
	cases := []struct {
		name string
		fast string // sent at once
		slow string // sent a byte every 100 ms: far longer than the timeouts
	}{
		{"headers a byte at a time", "", head + "\r\n"},
		{"body slower than the read timeout", head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)), body},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			closed := make(chan string, 1)
			go func() {
				// Whatever the server sends (a 408, a 400 about the
				// body, or nothing) ends with it closing the connection.
				b, _ := io.ReadAll(bufio.NewReader(conn))
				closed <- string(b)
			}()
			if _, err := conn.Write([]byte(tc.fast)); err != nil {
				t.Fatal(err)
			}
			sent := 0
			var answer string
		trickle:
			for ; sent < len(tc.slow); sent++ {
				select {
				case answer = <-closed:
					break trickle
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := conn.Write([]byte{tc.slow[sent]}); err != nil {
					answer = <-closed
					break
				}
			}
			if sent == len(tc.slow) {
				t.Fatalf("the server took all %d bytes at a byte per 100 ms: the slow client was not cut off", sent)
			}
			first, _, _ := strings.Cut(answer, "\r\n")
			t.Logf("cut off after %d of %d slow bytes; server said %q", sent, len(tc.slow), first)
			resp, err := http.Get("http://" + addr + "/healthz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("the server stopped serving: %v %v", err, resp)
			}
			resp.Body.Close()
		})
	}
}

// TestNoPayloadInLogs sends events whose data, and headers, carry a random
// marker, accepted ones and refused ones, and reads everything the real
// functions process logged: the marker must never appear. Refusals name the
// offending field, not the data around it.
func TestNoPayloadInLogs(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	e := newEnv(ctx, t, "v1", "v2")
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	marker := "secret-" + hex.EncodeToString(b)
	subject := e.subject("shop")
	spec := `{"kind":"canary","baseline":"shop-v1","candidates":["shop-v2"],
 "metrics":[{"name":"errors","type":"ratio","unit":"` + marker + `","query":"sum(rate(x{token=\"` + marker + `\"}[{{.Window}}]))"}],
 "objectives":[{"metric":"errors","upperLimit":0.5}],"limits":{"minSamples":500000,"maxSamples":1000000}}`
	sends := []struct {
		name   string
		ev     deliver.Event
		status int
	}{
		{"start with the marker in unit and query", deliver.Event{ID: "start", Type: events.TypeExperimentStart, Subject: subject, Data: []byte(spec)}, 200},
		{"pause with the marker as reason", deliver.Event{ID: "pause", Type: events.TypeExperimentControl, Subject: subject,
			Data: []byte(`{"action":"pause","reason":"` + marker + `"}`)}, 200},
		{"marker as the value of an unknown field", deliver.Event{ID: "bad-1", Type: events.TypeExperimentControl, Subject: subject,
			Data: []byte(`{"action":"resume","token":"` + marker + `"}`)}, 400},
		{"marker beside an invalid action", deliver.Event{ID: "bad-2", Type: events.TypeExperimentControl, Subject: subject,
			Data: []byte(`{"action":"explode","reason":"` + marker + `"}`)}, 400},
		{"marker in a spec with an invalid confidence", deliver.Event{ID: "bad-3", Type: events.TypeExperimentStart, Subject: e.subject("other"),
			Data: []byte(strings.Replace(spec, `"kind"`, `"confidence":2,"kind"`, 1))}, 400},
		{"marker in a source of a refused event", deliver.Event{ID: "bad-4", Source: "/" + marker, Type: events.TypeMetricsObserved, Subject: subject,
			Data: []byte(`{"window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:01:00Z"},"versions":{"shop-v1":{"errors":{"successes":"` + marker + `","trials":1}}}}`)}, 400},
	}
	for _, s := range sends {
		r, err := e.client.Post(ctx, s.ev)
		if err != nil || r.Status != s.status {
			t.Fatalf("%s: %v; answer %d %s, want %d", s.name, err, r.Status, r.Body, s.status)
		}
	}
	// Headers too: a bearer token sent by mistake.
	req, _ := http.NewRequest(http.MethodPost, e.fn.URL, strings.NewReader(`{"action":"resume"}`))
	for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "resume", "Ce-Source": "/ops", "Ce-Type": events.TypeExperimentControl,
		"Ce-Subject": subject, "Content-Type": "application/json", "Authorization": "Bearer " + marker, "Ce-Token": marker} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("resume: %v %v", err, resp)
	}
	resp.Body.Close()

	// The process logs before it answers, but its output reaches us through
	// a pipe and a copying goroutine: wait, with a deadline, until the last
	// event's line has arrived.
	var log string
	for _, id := range []string{"start", "pause", "resume"} {
		deadline := time.Now().Add(10 * time.Second)
		for log = e.fn.Log(); !strings.Contains(log, `"id":"`+id+`"`); log = e.fn.Log() {
			if time.Now().After(deadline) {
				t.Fatalf("the log has no line for event %s: it was not captured:\n%s", id, log)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, marker[len("secret-"):]) {
			t.Errorf("the log carries the payload's marker: %s", line)
		}
	}
}

// TestCrossTenantRefused runs the functions as their own service account,
// with the Role of config/namespaced/201-role.yaml in one namespace only, and sends an
// event about an opted-in Service in another namespace. The API server
// refuses the functions (403); iter8 answers 503 (retried, documented in
// docs/security.md: RBAC being rolled out is a passing state) naming the
// Service and the refusal, and the other tenant's Service is not written.
func TestCrossTenantRefused(t *testing.T) {
	t.Parallel()
	ctx := deliver.Context(t, deliver.Bound)
	c := cluster.Shared(t)
	e := &env{c: c, ns: c.Namespace(t), sv: servingclient.NewForConfigOrDie(c.Config)}
	e.store = store.New(e.sv.ServingV1())
	other := c.Namespace(t)
	if err := c.DeployRevisions(ctx, e.ns, "shop", deliver.Image, "v1", "v2"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeployRevisions(ctx, other, "shop", deliver.Image, "v1", "v2"); err != nil {
		t.Fatal(err)
	}
	kubeconfig := functionsIdentity(ctx, t, c, e.ns)
	e.startFunctions(ctx, t, kubeconfig)
	otherEnv := &env{c: c, ns: other, sv: e.sv}
	before := otherEnv.settled(ctx, t, "shop")

	// Its own namespace works: the identity is real.
	e.start(ctx, t, "shop", longCanary("shop-v1", "shop-v2"))

	ev, _ := deliver.New(events.TypeExperimentStart, "intrude", events.Subject(other, "shop"), []byte(longCanary("shop-v1", "shop-v2")))
	r, err := e.client.Post(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answer: %d %s", r.Status, strings.TrimSpace(r.Body))
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, other+"/shop") || !strings.Contains(r.Body, "forbidden") {
		t.Errorf("answer %d %s: want 503 naming %s/shop and the refusal", r.Status, r.Body, other)
	}
	ctl, _ := deliver.New(events.TypeExperimentControl, "intrude-abort", events.Subject(other, "shop"), events.Control{Action: events.ActionAbort})
	if r, err := e.client.Post(ctx, ctl); err != nil || r.Status != http.StatusServiceUnavailable {
		t.Errorf("control in another namespace: %v %+v, want 503", err, r)
	}
	if after := otherEnv.service(ctx, t, "shop"); after.ResourceVersion != before || after.Annotations[store.AnnotationState] != "" {
		t.Errorf("the other tenant's Service was written (resourceVersion %s -> %s)", before, after.ResourceVersion)
	}

	// The tick under the per-namespace Role: across all namespaces it is
	// refused (503, retried); with its namespace listed (--namespaces,
	// ITER8_NAMESPACES in config/) it is answered 200.
	tick, _ := deliver.New(events.TypePing, "tick", "", []byte(`{}`))
	if r, err := e.client.Post(ctx, tick); err != nil || r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "forbidden") {
		t.Errorf("tick across all namespaces under a Role: %v %+v, want a 503 naming the refusal", err, r)
	}
	listed, err := deliver.StartFunctions(ctx, deliver.FunctionsBin(c.Root), kubeconfig, deliver.WithArgs("--namespaces", e.ns))
	if err != nil {
		t.Fatal(err)
	}
	defer listed.Stop()
	if r, err := deliver.NewClient(listed.URL).Post(ctx, tick); err != nil || r.Status != http.StatusOK {
		t.Errorf("tick with the Role's namespace listed: %v %+v, want 200", err, r)
	}
}

// functionsIdentity applies config/'s service account, and its Role and
// RoleBinding in ns only, and writes a kubeconfig that authenticates as the
// service account with a token from the TokenRequest API.
func functionsIdentity(ctx context.Context, t *testing.T, c *cluster.Cluster, ns string) string {
	t.Helper()
	for _, f := range []string{"base/100-namespace.yaml", "base/200-serviceaccount.yaml", "namespaced/201-role.yaml"} {
		b, err := config.Manifests.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ApplyManifest(ctx, b, func(u *unstructured.Unstructured) bool {
			if u.GetKind() == "Role" || u.GetKind() == "RoleBinding" {
				u.SetNamespace(ns)
			}
			return true
		}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	tok, err := kubernetes.NewForConfigOrDie(c.Config).CoreV1().ServiceAccounts("iter8-system").CreateToken(ctx, "iter8-functions",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptrTo[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	kc.AuthInfos["iter8-functions"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	kc.Contexts["iter8-functions"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "iter8-functions"}
	kc.CurrentContext = "iter8-functions"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func ptrTo[T any](v T) *T { return &v }
