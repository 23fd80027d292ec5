// Command kn-iter8 is the kn plugin for iter8: `kn iter8 start`, `describe`,
// `watch`, `list`, `pause`, `resume`, `abort`, `promote`, `report`,
// `simulate`, `version` and `completion`. kn finds it as a plugin on the
// PATH and passes it every argument after "iter8", kn's global flags
// included (all accepted; see commands/kube.go); it also runs alone as
// kn-iter8.
//
// The command tree lives in package commands, importable so that the
// integration tests run it in process; `simulate` lives here, beside main.
// Exit codes: alone, 0 success, 1 error, 2 usage error; through kn, kn
// exits 1 for every failure of its plugin.
package main
