// Package load generates the load of a performance experiment that has a
// load block (events.LoadSpec): one bounded burst of HTTP requests to the
// version's own tag URL, measured into one metrics window.
//
// It is an I/O adapter over vegeta (github.com/tsenart/vegeta/v12): the
// constant-rate pacer, the attacker with its cap on requests in flight,
// and the bucketed latency histogram are vegeta's. The package keeps
// nothing between bursts: everything a burst needs comes with the call
// (the spec, the version, its tag URL, whether it is the first burst), so
// any replica can run any burst. It refuses any host but the version's
// tag host, never follows redirects, and caps rate and burst length at the
// ceiling the functions are configured with (FromEnv).
//
// It may import events only; the functions (functions/load.go) decide
// when to run a burst and fold its window in through the engine.
package load
