package commands

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/iter8-knative/iter8/events"
)

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command shows help", nil, exitOK, ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"describe without a service", []string{"describe"}, exitUsage, "requires the name of a Knative Service"},
		{"describe two services", []string{"describe", "a", "b"}, exitUsage, "takes one Service"},
		{"unknown output", []string{"describe", "shop", "-o", "xml"}, exitUsage, `unknown output format "xml"`},
		{"unknown flag", []string{"describe", "shop", "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{"missing service", []string{"describe", "missing"}, exitError, "service default/missing not found"},
		{"service without an experiment", []string{"describe", "plain"}, exitError,
			"Error: service default/plain has no experiment; start one with: kn iter8 start plain -f experiment.yaml\n"},
		{"without an experiment, namespace named", []string{"report", "plain", "-n", "default"}, exitError,
			"start one with: kn iter8 start plain -n default -f experiment.yaml"},
		{"-A with -n", []string{"list", "-A", "-n", "shop"}, exitUsage, "exclude each other"},
		{"unknown phase", []string{"list", "--phase", "done"}, exitUsage, `unknown phase "done"`},
		{"promote without a version", []string{"promote", "shop"}, exitUsage, "takes SERVICE VERSION"},
		{"pause with a version", []string{"pause", "shop", "shop-v2"}, exitUsage, "takes SERVICE"},
		{"start without a spec", []string{"start", "shop"}, exitUsage, "requires the experiment spec"},
		{"kn's global flags are accepted", []string{"describe", "shop", "--log-http", "--plugins-dir", "/opt/kn", "--config", "/x"}, exitOK, ""},
		{"kn's negative global flag is accepted", []string{"list", "--no-log-http", "--lookup-plugins", "--context", "c", "--cluster", "k"}, exitOK, ""},
		{"report -o is the format, not the file", []string{"report", "shop", "-o", "shop.html"}, exitUsage, "--output-file shop.html"},
		{"version takes no argument", []string{"version", "extra"}, exitUsage, `unknown command "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, append(recorded(t, "shop"), baseService("default", "plain", []string{"plain-v1"})))
			code := h.run(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, h.stderr)
			}
			if !strings.Contains(h.stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", h.stderr, tt.stderr)
			}
			if tt.code == exitUsage && !strings.Contains(h.stderr.String(), "--help' for usage") {
				t.Errorf("a usage error does not point to --help: %q", h.stderr)
			}
		})
	}
}

// sink records the CloudEvents it receives, decoded as any consumer
// would, and answers with status (and a reply type, if set).
type sink struct {
	*httptest.Server
	mu     sync.Mutex
	got    []event.Event
	binary []bool
	status int
	body   string
	reply  string
}

func newSink(t *testing.T, status int) *sink {
	s := &sink{status: status}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			t.Errorf("sink: not a CloudEvent: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, *ev)
		s.binary = append(s.binary, r.Header.Get("Ce-Specversion") != "")
		s.mu.Unlock()
		if s.reply != "" {
			w.Header().Set("Ce-Type", s.reply)
		}
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) events() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event(nil), s.got...)
}

const validSpec = `# a canary, as users write it
kind: canary
baseline: fresh-v1
candidates: [fresh-v2]
metrics:
  - name: errors
    type: ratio
objectives:
  - metric: errors
    upperLimit: 0.01
`

// freshService is an opted-in Service with two Ready revisions and no
// experiment.
func freshService() []runtime.Object { return freshServiceIn("default") }

// freshServiceIn is freshService in namespace ns: the Service first, then
// its revisions.
func freshServiceIn(ns string) []runtime.Object {
	objs := []runtime.Object{baseService(ns, "fresh", []string{"fresh-v1", "fresh-v2"})}
	for _, rev := range []string{"fresh-v1", "fresh-v2"} {
		objs = append(objs, &servingv1.Revision{ObjectMeta: metav1.ObjectMeta{
			Name: rev, Namespace: ns, Labels: map[string]string{serving.ServiceLabelKey: "fresh"},
		}})
	}
	return objs
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartSendsABinaryCloudEvent(t *testing.T) {
	s := newSink(t, http.StatusOK)
	s.reply = events.TypeExperimentStarted
	h := newHarness(t, freshService())
	if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--sink", s.URL); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	got := s.events()
	if len(got) != 1 {
		t.Fatalf("sink received %d events, want 1", len(got))
	}
	ev := got[0]
	if !s.binary[0] {
		t.Error("the event was not sent in binary mode")
	}
	if diff := cmp.Diff(
		[]string{events.TypeExperimentStart, "kn-iter8", "default/fresh", events.ContentTypeJSON},
		[]string{ev.Type(), ev.Source(), ev.Subject(), ev.DataContentType()}); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	spec, err := events.DecodeExperimentStart(ev)
	if err != nil {
		t.Fatalf("the function would refuse the event: %v", err)
	}
	if spec.Baseline != "fresh-v1" || spec.Confidence != 0 {
		t.Errorf("sent spec %+v; want it as written, without defaults", spec)
	}
	for _, want := range []string{"Sent dev.iter8.experiment.start for default/fresh", "replied with dev.iter8.experiment.started", "kn iter8 watch fresh"} {
		if !strings.Contains(h.stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, h.stdout)
		}
	}
}

func TestStartRefusesBeforeSending(t *testing.T) {
	notOptedIn := baseService("default", "legacy", []string{"legacy-v1"})
	notOptedIn.Labels = nil
	tests := []struct {
		name   string
		spec   string
		args   []string
		stderr []string
	}{
		{
			name: "invalid spec, every problem with its path",
			spec: strings.NewReplacer("[fresh-v2]", "[fresh-v2, fresh-v3]", "type: ratio", "type: ratioo", "metric: errors", "metric: latency").Replace(validSpec),
			args: []string{"fresh"},
			stderr: []string{"is not a valid experiment (3 problems):",
				"\n  spec.candidates: canary takes exactly one candidate, got 2",
				"\n  spec.metrics[0].type: unknown metric type \"ratioo\"",
				"\n  spec.objectives[0].metric: unknown metric \"latency\""},
		},
		{name: "misspelt field", spec: validSpec + "traffic:\n  maxIncrment: 5\n", args: []string{"fresh"}, stderr: []string{`spec.traffic.maxIncrment: unknown field`}},
		{name: "not opted in", spec: validSpec, args: []string{"legacy"}, stderr: []string{"has not opted in", "--label iter8.dev/enabled=true"}},
		{name: "already running", spec: strings.ReplaceAll(validSpec, "fresh", "shop"), args: []string{"shop"}, stderr: []string{"already runs experiment shop-0001", "kn iter8 abort shop"}},
		{name: "not a revision of the service", spec: strings.ReplaceAll(validSpec, "fresh-v2", "fresh-v9"), args: []string{"fresh"}, stderr: []string{`revision "fresh-v9" does not exist`}},
		{name: "missing service", spec: validSpec, args: []string{"gone"}, stderr: []string{"service default/gone not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t, http.StatusAccepted)
			h := newHarness(t, append(append(freshService(), recorded(t, "shop")...), notOptedIn))
			args := append([]string{"start"}, tt.args...)
			args = append(args, "-f", writeFile(t, "e.yaml", tt.spec), "--sink", s.URL)
			if code := h.run(args...); code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(h.stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, h.stderr)
				}
			}
			if n := len(s.events()); n != 0 {
				t.Errorf("%d events sent; nothing may be sent after a refusal", n)
			}
		})
	}
}

func TestStartReportsTheFunctionsRefusal(t *testing.T) {
	const msg = `permanent error (HTTP 422): revision "fresh-v2" is failing`
	// The functions answer JSON; a proxy on the way may answer text.
	for _, body := range []string{`{"error":"permanent error (HTTP 422): revision \"fresh-v2\" is failing","status":422}` + "\n", msg} {
		s := newSink(t, http.StatusUnprocessableEntity)
		s.body = body
		h := newHarness(t, freshService())
		if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--sink", s.URL); code != exitError {
			t.Fatalf("exit %d, want %d", code, exitError)
		}
		if !strings.Contains(h.stderr.String(), "refused with HTTP 422: "+msg+"\n") {
			t.Errorf("stderr does not carry the function's message:\n%s", h.stderr)
		}
	}
}

// broker is the iter8 Broker as Knative Eventing reports it.
func broker(url string) runtime.Object {
	b := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
		"metadata": map[string]any{"name": "iter8", "namespace": "iter8-system"},
	}}
	if url != "" {
		b.Object["status"] = map[string]any{"address": map[string]any{"url": url}}
	}
	return b
}

func TestStartFindsTheBroker(t *testing.T) {
	s := newSink(t, http.StatusAccepted)
	h := newHarness(t, freshService(), broker(s.URL+"/iter8-system/iter8"))
	if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", validSpec)); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	if n := len(s.events()); n != 1 {
		t.Fatalf("broker received %d events, want 1", n)
	}
	if !strings.Contains(h.stdout.String(), "to "+s.URL+"/iter8-system/iter8 (HTTP 202)") {
		t.Errorf("stdout does not name the broker:\n%s", h.stdout)
	}
}

// TestWithoutBrokerThePrintedCurlSendsTheSameEvent runs the curl command
// printed when no broker exists and checks that it delivers the event
// kn-iter8 itself would have sent.
func TestWithoutBrokerThePrintedCurlSendsTheSameEvent(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		broker runtime.Object
		note   string
	}{
		{"no broker", []string{"start", "fresh", "-f", "SPEC"}, nil, "broker iter8-system/iter8 not found"},
		{"broker not ready", []string{"start", "fresh", "-f", "SPEC"}, broker(""), "has no address yet"},
		{"control", []string{"pause", "shop", "--reason", "it's lunch"}, nil, "nothing was sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var brokers []runtime.Object
			if tt.broker != nil {
				brokers = append(brokers, tt.broker)
			}
			h := newHarness(t, append(freshService(), recorded(t, "shop")...), brokers...)
			spec := writeFile(t, "e.yaml", validSpec)
			args := strings.Split(strings.ReplaceAll(strings.Join(tt.args, "\x00"), "SPEC", spec), "\x00")
			if code := h.run(args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, h.stderr)
			}
			if !strings.Contains(h.stderr.String(), tt.note) {
				t.Errorf("stderr lacks the note %q:\n%s", tt.note, h.stderr)
			}
			lookTool(t, "running the printed curl command", "curl", "curl")
			s := newSink(t, http.StatusAccepted)
			cmd := exec.Command("bash", "-c", h.stdout.String())
			cmd.Env = append(os.Environ(), sinkEnv+"="+s.URL)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the printed command failed: %v\n%s\n%s", err, h.stdout, out)
			}
			got := s.events()
			if len(got) != 1 {
				t.Fatalf("curl delivered %d events, want 1", len(got))
			}
			if !s.binary[0] {
				t.Error("curl did not send binary mode")
			}
			if _, err := events.Decode(got[0]); err != nil {
				t.Errorf("the function would refuse the curled event: %v", err)
			}
			if got[0].Source() != source || got[0].Time().IsZero() || got[0].ID() == "" {
				t.Errorf("curled event lacks attributes: %v", got[0])
			}
		})
	}
}

func TestControlEvents(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want *events.Control
		says string
	}{
		{"pause with a reason", []string{"pause", "shop", "--reason", "dashboards look odd"}, exitOK, &events.Control{Action: "pause", Reason: "dashboards look odd"}, "Sent dev.iter8.experiment.control"},
		{"resume", []string{"resume", "shop"}, exitOK, &events.Control{Action: "resume"}, ""},
		{"abort", []string{"abort", "shop"}, exitOK, &events.Control{Action: "abort"}, ""},
		{"promote by revision", []string{"promote", "shop", "shop-v2"}, exitOK, &events.Control{Action: "promote", Version: "shop-v2"}, ""},
		{"promote by tag", []string{"promote", "shop", "v2"}, exitOK, &events.Control{Action: "promote", Version: "shop-v2"}, ""},
		{"promote an unknown version", []string{"promote", "shop", "v9"}, exitUsage, nil, `"v9" is not a version of the experiment on shop`},
		{"pause a completed experiment", []string{"pause", "checkout", "-n", "shop"}, exitError, nil, "is Completed: there is nothing to pause"},
		{"no experiment", []string{"abort", "plain"}, exitError, nil, "has no experiment"},
		{"dry run prints instead", []string{"abort", "shop", "--dry-run"}, exitOK, nil, "curl -sS -X POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSink(t, http.StatusAccepted)
			h := newHarness(t, append(recorded(t, "shop", "checkout"), baseService("default", "plain", []string{"plain-v1"})))
			code := h.run(append(tt.args, "--sink", s.URL)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, h.stderr)
			}
			if tt.says != "" && !strings.Contains(h.stdout.String()+h.stderr.String(), tt.says) {
				t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", tt.says, h.stdout, h.stderr)
			}
			got := s.events()
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("%d events sent, want none", len(got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d events sent, want 1", len(got))
			}
			c, err := events.DecodeControl(got[0])
			if err != nil {
				t.Fatalf("the function would refuse the event: %v", err)
			}
			if diff := cmp.Diff(*tt.want, c); diff != "" {
				t.Errorf("control (-want +got):\n%s", diff)
			}
			if got[0].Subject() != "default/shop" {
				t.Errorf("subject %q, want default/shop", got[0].Subject())
			}
		})
	}
}

// TestDryRunPrintsTheEventItWouldSend checks --dry-run sends nothing and
// prints the event's data.
func TestDryRunPrintsTheEventItWouldSend(t *testing.T) {
	s := newSink(t, http.StatusAccepted)
	h := newHarness(t, freshService())
	if code := h.run("start", "fresh", "-f", writeFile(t, "e.yaml", validSpec), "--sink", s.URL, "--dry-run"); code != exitOK {
		t.Fatalf("exit %d: %s", code, h.stderr)
	}
	if n := len(s.events()); n != 0 {
		t.Errorf("--dry-run sent %d events", n)
	}
	out := h.stdout.String()
	for _, want := range []string{"curl -sS -X POST '" + s.URL + "'", "-H 'ce-type: dev.iter8.experiment.start'", "-H 'ce-subject: default/fresh'", `"baseline":"fresh-v1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var spec events.ExperimentSpec
	data := out[strings.Index(out, "--data-binary '")+len("--data-binary '"):]
	data = data[:strings.Index(data, "'\n")]
	if err := json.Unmarshal([]byte(data), &spec); err != nil {
		t.Errorf("printed data is not the spec: %v", err)
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "'plain'"},
		{"it's", `'it'"'"'s'`},
		{`{"q":"rate(x[5m])"}`, `'{"q":"rate(x[5m])"}'`},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
		out, err := exec.Command("bash", "-c", "printf %s "+shellQuote(tt.in)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tt.in {
			t.Errorf("the shell read %q back as %q", tt.in, out)
		}
	}
}

func TestHintForAClusterInternalSink(t *testing.T) {
	dnsErr := &url.Error{Op: "Post", URL: "x", Err: &net.DNSError{Err: "no such host", Name: "broker-ingress.knative-eventing.svc.cluster.local"}}
	tests := []struct {
		sink string
		err  error
		want string
	}{
		{"http://broker-ingress.knative-eventing.svc.cluster.local/iter8-system/iter8", dnsErr, "--sink http://localhost:8080/iter8-system/iter8"},
		{"http://localhost:8080/iter8-system/iter8", dnsErr, ""},
		{"http://broker-ingress.knative-eventing.svc.cluster.local/iter8-system/iter8", errors.New("refused with HTTP 400"), ""},
	}
	for _, tt := range tests {
		got := hintFor(tt.sink, tt.err)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("hintFor(%s, %v) = %q, want it to contain %q", tt.sink, tt.err, got, tt.want)
		}
	}
}

// TestKubeconfigNamespace checks that the namespace comes from -n, else
// the kubeconfig context (--context or the current one), as kn does.
func TestKubeconfigNamespace(t *testing.T) {
	path := writeFile(t, "kubeconfig", `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: team-a
  context: {cluster: c, user: u, namespace: team-a}
- name: plain
  context: {cluster: c, user: u}
current-context: team-a
`)
	tests := []struct {
		flags kubeFlags
		want  string
	}{
		{kubeFlags{kubeconfig: path}, "team-a"},
		{kubeFlags{kubeconfig: path, namespace: "other"}, "other"},
		{kubeFlags{kubeconfig: path, context: "plain"}, "default"},
	}
	for _, tt := range tests {
		cl, err := kubeClients(&tt.flags)
		if err != nil {
			t.Fatal(err)
		}
		if cl.namespace != tt.want {
			t.Errorf("flags %+v: namespace %q, want %q", tt.flags, cl.namespace, tt.want)
		}
	}
	t.Setenv("KUBECONFIG", path)
	cl, err := kubeClients(&kubeFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if cl.namespace != "team-a" {
		t.Errorf("with $KUBECONFIG: namespace %q, want team-a", cl.namespace)
	}
}
