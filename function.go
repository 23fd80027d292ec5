// Package function lays iter8's functions out the way Knative Functions'
// Go scaffolding expects (`func build`, `func deploy` with func.yaml):
// a root package whose New returns an instance with
// Handle(context.Context, event.Event) (*event.Event, error), the "go
// cloudevents" template's instanced signature. It only adapts: the
// handlers, their deadline, status codes and metrics are those of the
// functions package, configured from the same environment as
// cmd/iter8-functions (functions.Settings).
//
// What func's own server (knative.dev/func-go) does differently from
// cmd/iter8-functions: its health endpoints are /health/liveness and
// /health/readiness, and it serves no /metrics and puts no cap on request
// bodies. config/ (ko) runs cmd/iter8-functions and keeps them.
package function

import (
	"context"
	"log/slog"
	"os"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/iter8-knative/iter8/functions"
)

// Function is iter8's functions for Knative Functions.
type Function struct {
	sv *functions.Server
}

// New returns the functions; Start configures them.
func New() *Function { return &Function{} }

// Start builds the handlers from the environment (the pod's service
// account, ITER8_* and K_SINK); func-go calls it before serving.
func (f *Function) Start(_ context.Context, _ map[string]string) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	env := functions.SettingsFromEnv(os.LookupEnv)
	cfg, err := functions.KubeConfig("")
	if err != nil {
		return err
	}
	f.sv, err = env.Server(cfg, log, os.LookupEnv)
	return err
}

// Handle handles one CloudEvent; a refusal carries its HTTP status.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if f.sv == nil {
		return nil, cehttp.NewResult(503, "iter8 functions not started")
	}
	return f.sv.HandleEvent(ctx, e)
}
