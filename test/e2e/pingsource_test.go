package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/test/stack"
)

// TestRealPingSourceTickReachesTheCollector waits for a tick of config/'s
// own PingSource (every minute), sent by the real PingSource adapter to the
// Broker, and checks that the Trigger iter8-collect delivered it to the
// functions, which ran the collector over the running experiment. It takes
// up to a minute: the schedule is config/'s.
func TestRealPingSourceTickReachesTheCollector(t *testing.T) {
	s, _, _, ctx := upCollectedOn(t, "canary-good.yaml", 1, stack.PrometheusOptions{}, 1, "", true)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	const source = "/apis/v1/namespaces/" + stack.SystemNamespace + "/pingsources/" + stack.PingSourceName
	tick, err := s.BrokerEvents().Wait(ctx, s.BrokerEvents().Mark(), func(e cloudevents.Event) bool {
		return e.Type() == events.TypePing && e.Source() == source
	})
	if err != nil {
		t.Fatalf("no tick from the PingSource on the Broker: %v", err)
	}
	var applied map[string]any
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		for _, l := range strings.Split(s.FunctionsLog(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "tick" && m["id"] == tick.ID() {
				applied = m
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the functions never handled the PingSource's tick %s: %v", tick.ID(), err)
	}
	if applied["outcome"] != "applied" || applied["experiments"].(float64) < 1 {
		t.Errorf("tick %s: %v, want applied over the running experiment", tick.ID(), applied)
	}
}
