// Package report renders an experiment as one self-contained HTML page: the
// summary `kn iter8 describe` prints, and plots drawn with gonum/plot as
// inline SVG: the posterior density of every metric per version, the
// traffic split over time and the win probability over time.
//
// It is pure: Render takes the data and the time the page is dated with,
// and returns bytes; it reads no clock, file or cluster, and the same input
// always yields the same page. It may import events, pkg/experiment,
// pkg/stats and pkg/present; it must not import Kubernetes clients,
// pkg/store, functions or cmd.
package report
