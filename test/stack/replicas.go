package stack

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/test/cluster"
	"github.com/iter8-knative/iter8/test/reliability/deliver"
)

// readyBound caps the wait for a replica's /readyz, so that a binary that
// never comes up fails Start instead of hanging until the test's deadline.
const readyBound = 20 * time.Second

// startReplica starts the real iter8-functions binary on a free port with
// deliver's starter (the reliability tests' own) and waits until it is
// ready. Its logs are kept in memory and also copied to logw when not nil.
func startReplica(ctx context.Context, c *cluster.Cluster, logw io.Writer, env []string) (*deliver.Functions, error) {
	opts := []deliver.Option{deliver.WithEnv(env...)}
	if logw != nil {
		opts = append(opts, deliver.WithLog(logw))
	}
	ctx, cancel := context.WithTimeout(ctx, readyBound)
	defer cancel()
	return deliver.StartFunctions(ctx, filepath.Join(c.Bin, "iter8-functions"), c.Kubeconfig, opts...)
}

// FunctionsLog returns the functions servers' logs, one replica after
// another.
func (s *Stack) FunctionsLog() string {
	var b strings.Builder
	for _, r := range s.replicas {
		b.WriteString(r.Log())
	}
	return b.String()
}

// ReplicaLogs returns each replica's log, in FunctionsURLs' order.
func (s *Stack) ReplicaLogs() []string {
	var out []string
	for _, r := range s.replicas {
		out = append(out, r.Log())
	}
	return out
}

// functionsAddrs are the replicas' host:port.
func (s *Stack) functionsAddrs() []string {
	var out []string
	for _, u := range s.FunctionsURLs {
		out = append(out, strings.TrimPrefix(u, "http://"))
	}
	return out
}

// SendTo delivers e to the replica at url (one of FunctionsURLs) in binary
// mode, as a Trigger delivers to one pod, and returns the HTTP status and
// the reply's type ("" for none). A status of 300 or more is returned with
// an error carrying the answer.
func (s *Stack) SendTo(ctx context.Context, url string, e cloudevents.Event) (int, string, error) {
	status, header, _, err := post(ctx, url, e)
	return status, header.Get("Ce-Type"), err
}
