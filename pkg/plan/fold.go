package plan

import "github.com/iter8-knative/iter8/events"

// folded is spec as simulated on a grid whose every window stands for f
// real windows. The engine moves traffic by at most maxIncrement points a
// window, and a canary ramps by a step every window; folded windows would
// make both f times slower in time than the experiment they stand for (a
// canary's plan or ETA f times too long). So the folded spec may move f
// times as far in one window, as the real one would over f windows.
func folded(spec events.ExperimentSpec, f int) events.ExperimentSpec {
	if f <= 1 || spec.Traffic.MaxIncrement == nil {
		return spec
	}
	inc := min(100, f**spec.Traffic.MaxIncrement)
	spec.Traffic.MaxIncrement = &inc
	return spec
}
