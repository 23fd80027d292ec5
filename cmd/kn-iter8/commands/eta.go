package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/iter8-knative/iter8/pkg/experiment"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/present"
)

// etaCache keeps the last ETA, so that a view redrawn without a new window
// does not simulate again: the ETA changes once a window.
type etaCache struct {
	id        string
	iteration int
	eta       *plan.ETA
}

// withETA sets in.ETA for a Running experiment by simulating it forward
// (plan.Estimate); an experiment that cannot be continued yet (no window)
// shows none, and a failure only warns: the rest of the view stands.
func (c *etaCache) withETA(in present.Input, o plan.ETAOptions, warn io.Writer) present.Input {
	st := in.State
	if st.Phase != experiment.PhaseRunning {
		return in
	}
	if c != nil && c.id == st.ID && c.iteration == st.Iteration {
		in.ETA = c.eta
		return in
	}
	e, err := plan.Estimate(in.Spec, st, o)
	switch {
	case errors.Is(err, plan.ErrNoETA):
	case err != nil:
		fmt.Fprintf(warn, "Warning: no ETA for %s/%s: %v\n", in.Namespace, in.Service, err)
	default:
		in.ETA = &e
	}
	if c != nil {
		c.id, c.iteration, c.eta = st.ID, st.Iteration, in.ETA
	}
	return in
}
