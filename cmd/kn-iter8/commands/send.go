package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// source is the CloudEvents source of every event kn-iter8 sends.
const source = "kn-iter8"

// Where iter8 is installed: config/ creates the broker iter8 in namespace
// iter8-system, and its triggers route events to the functions.
const (
	defaultBrokerNamespace = "iter8-system"
	defaultBroker          = "iter8"
)

// sinkEnv names the variable the printed curl command reads its target from.
const sinkEnv = "ITER8_SINK"

// sendFlags choose where an event goes.
type sendFlags struct {
	sink            string
	brokerNamespace string
	broker          string
	dryRun          bool
	// serviceAccount and tokenFile give the OIDC token (oidc.go).
	serviceAccount string
	tokenFile      string
}

func (s *sendFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.sink, "sink", "", "URL to send the event to (default: the address of the iter8 broker)")
	f.StringVar(&s.brokerNamespace, "broker-namespace", defaultBrokerNamespace, "namespace of the iter8 broker")
	f.StringVar(&s.broker, "broker", defaultBroker, "name of the iter8 broker")
	f.BoolVar(&s.dryRun, "dry-run", false, "print the event as a curl command instead of sending it")
	f.StringVar(&s.serviceAccount, "service-account", "", "with OIDC on: send a token of this service account (namespace/name) for the broker's audience")
	f.StringVar(&s.tokenFile, "token-file", "", "with OIDC on: send the bearer token in this file")
}

// brokers is the resource of Knative Eventing's Broker.
var brokers = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"}

// errNoBroker is a cluster without the iter8 broker (or with one not ready).
var errNoBroker = errors.New("no iter8 broker")

// discoverBroker returns the URL of the iter8 broker, status.address.url
// of Broker name in namespace ns, and its OIDC audience
// (status.address.audience), set when Eventing's authentication-oidc is on.
func discoverBroker(ctx context.Context, cl *clients, ns, name string) (string, string, error) {
	if cl == nil || cl.dynamic == nil {
		return "", "", fmt.Errorf("%w: no cluster connection", errNoBroker)
	}
	b, err := cl.dynamic.Resource(brokers).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// Also what a cluster without Knative Eventing answers.
		return "", "", fmt.Errorf("%w: broker %s/%s not found", errNoBroker, ns, name)
	case err != nil:
		return "", "", fmt.Errorf("finding the iter8 broker %s/%s: %w", ns, name, err)
	}
	u, _, _ := unstructured.NestedString(b.Object, "status", "address", "url")
	if u == "" {
		return "", "", fmt.Errorf("%w: broker %s/%s has no address yet (is it Ready?)", errNoBroker, ns, name)
	}
	aud, _, _ := unstructured.NestedString(b.Object, "status", "address", "audience")
	return u, aud, nil
}

// deliver sends ev to the sink the flags name, or to the broker found in
// the cluster, and reports whether it did. Without either it prints the
// curl command that sends it and succeeds: the event is valid, only the
// way to the cluster is missing.
func deliver(ctx context.Context, e *env, kf *kubeFlags, cl *clients, sf sendFlags, ev event.Event) (bool, error) {
	sink, audience := sf.sink, ""
	if sink == "" {
		var err error
		sink, audience, err = discoverBroker(ctx, cl, sf.brokerNamespace, sf.broker)
		if errors.Is(err, errNoBroker) {
			if !sf.dryRun {
				fmt.Fprintf(e.stderr, "Note: %v; nothing was sent. Send the event yourself with:\n\n", err)
			}
			return false, printCurl(e.stdout, "", ev)
		}
		if err != nil && !sf.dryRun {
			return false, err
		}
	}
	if sf.dryRun {
		return false, printCurl(e.stdout, sink, ev)
	}
	if _, err := url.ParseRequestURI(sink); err != nil {
		return false, usagef("--sink %q is not a URL: %v", sink, err)
	}
	token, err := sf.token(ctx, cl, audience)
	if err != nil {
		return false, err
	}
	status, reply, err := post(ctx, loggedClient(e.http, kf.httpLogger()), sink, token, ev)
	if err != nil {
		return false, fmt.Errorf("sending %s for %s to %s: %w%s", ev.Type(), ev.Subject(), sink, err, hintFor(sink, err))
	}
	fmt.Fprintf(e.stdout, "Sent %s for %s to %s (HTTP %d).\n", ev.Type(), ev.Subject(), sink, status)
	if reply != "" {
		fmt.Fprintf(e.stdout, "iter8 replied with %s.\n", reply)
	}
	return true, nil
}

// post sends ev in binary mode, with token as a bearer token when set, and
// returns the status and the type of a reply event, if any. A refusal
// carries the function's message.
func post(ctx context.Context, client *http.Client, sink, token string, ev event.Event) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sink, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if err := cehttp.WriteRequest(binding.WithForceBinary(ctx), binding.ToMessage(&ev), req); err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(body))
		// The functions refuse with {"error": "...", "status": N}.
		var refusal struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &refusal) == nil && refusal.Error != "" {
			msg = refusal.Error
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return resp.StatusCode, "", fmt.Errorf("refused with HTTP %d: %s", resp.StatusCode, msg)
	}
	return resp.StatusCode, resp.Header.Get("Ce-Type"), nil
}

// hintFor explains a failure to reach a cluster-internal address, which is
// what a broker's address is.
func hintFor(sink string, err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if !errors.As(err, &dnsErr) && !errors.As(err, &opErr) {
		return ""
	}
	u, perr := url.Parse(sink)
	if perr != nil || !strings.Contains(u.Hostname(), ".svc") {
		return ""
	}
	return fmt.Sprintf("\nThe broker's address is reachable only inside the cluster. Forward it and pass --sink, for example:\n"+
		"  kubectl port-forward -n knative-eventing svc/broker-ingress 8080:80 &\n"+
		"  kn iter8 ... --sink http://localhost:8080%s", u.Path)
}

// printCurl prints the curl command that sends ev exactly as kn-iter8
// would: binary mode, the same headers and body. Without a sink it reads
// the target from $ITER8_SINK.
func printCurl(w io.Writer, sink string, ev event.Event) error {
	req, err := http.NewRequest(http.MethodPost, "http://placeholder", nil)
	if err != nil {
		return err
	}
	if err := cehttp.WriteRequest(binding.WithForceBinary(context.Background()), binding.ToMessage(&ev), req); err != nil {
		return fmt.Errorf("encoding %s: %w", ev.Type(), err)
	}
	target := shellQuote(sink)
	if sink == "" {
		target = fmt.Sprintf(`"${%s:?set %s to the URL of the iter8 broker or function}"`, sinkEnv, sinkEnv)
	}
	var keys []string
	for k := range req.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "curl -sS -X POST %s \\\n", target)
	for _, k := range keys {
		for _, v := range req.Header[k] {
			fmt.Fprintf(w, "  -H %s \\\n", shellQuote(strings.ToLower(k)+": "+v))
		}
	}
	fmt.Fprintf(w, "  --data-binary %s\n", shellQuote(string(ev.Data())))
	fmt.Fprintln(w, "\n# kn event send cannot set the CloudEvents subject that iter8 routes on, so curl it is.")
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
