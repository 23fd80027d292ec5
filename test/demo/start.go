package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/test/stack"
)

// knStart starts the experiment as a user would, with `kn iter8 start`: it
// finds the iter8 Broker's address in the cluster and sends the start event
// to the Broker's ingress. The demo then shows the event's path: accepted
// by the ingress, delivered by the Trigger iter8-start to the functions,
// and their reply back on the Broker.
func knStart(ctx context.Context, s *stack.Stack, x stack.Experiment) error {
	return knStartSpec(ctx, s, x.Namespace, x.Service, x.Spec(), append([]string{"--plan"}, x.PlanFlags()...)...)
}

// knStartSpec is knStart of spec on Service ns/service, with extra flags
// for kn iter8 start.
func knStartSpec(ctx context.Context, s *stack.Stack, ns, service string, es events.ExperimentSpec, extra ...string) error {
	plugin := pluginCommand(s)
	if plugin == nil {
		return fmt.Errorf("kn-iter8 is not built (run `make build`)")
	}
	file, err := specFile(es)
	if err != nil {
		return err
	}
	defer os.Remove(file)
	mark := s.BrokerEvents().Mark()
	// With --plan (knStart), the plan is printed before anything is sent.
	out, err := plugin(append([]string{"start", service, "-n", ns, "-f", file}, extra...)...)
	show(out, err)
	if err != nil {
		return err
	}
	subject := events.Subject(ns, service)
	in, err := s.BrokerEvents().Wait(ctx, mark, func(e cloudevents.Event) bool {
		return e.Type() == events.TypeExperimentStart && e.Subject() == subject
	})
	if err != nil {
		return err
	}
	reply, err := s.BrokerEvents().Wait(ctx, mark, func(e cloudevents.Event) bool {
		return e.Type() == events.TypeExperimentStarted && e.Subject() == subject
	})
	if err != nil {
		return err
	}
	say("broker ingress accepted %s %s (HTTP 202 to kn iter8 start)", in.Type(), in.ID())
	line := lineWith(s.FunctionsLog(), in.ID())
	if line == "" {
		return fmt.Errorf("the functions never logged %s %s", in.Type(), in.ID())
	}
	say("Trigger iter8-start delivered it to iter8-functions: %s", line)
	say("their reply %s %s went back through the Broker", reply.Type(), reply.ID())
	return nil
}

// specFile writes spec to a temporary file for `kn iter8 -f`; the
// caller removes it.
func specFile(spec events.ExperimentSpec) (string, error) {
	return stack.SpecFile("", "iter8-demo-*.json", spec)
}

// lineWith returns the first line of text containing s.
func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
