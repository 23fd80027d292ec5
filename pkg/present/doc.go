// Package present turns an experiment, as read from its Knative Service,
// into what people read: the model behind `kn iter8 describe`, `list` and
// `watch` (Description, ListRow, Progress, the emitted events), its text
// tables, and the
// number, probability and objective formatting every view shares, so that
// the terminal and the HTML report say the same thing the same way.
//
// It is pure: every function takes the data and the time to measure ages
// against, and reads no clock, file or cluster. It may import events,
// pkg/experiment, pkg/stats and pkg/plan (whose Plan and ETA it shows);
// it must not import Kubernetes clients,
// pkg/store, functions or cmd.
package present
