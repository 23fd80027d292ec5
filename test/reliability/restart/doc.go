// Package restart holds the reliability test that restarts kube-apiserver
// under a running experiment. It needs a control plane of its own, started
// in this process (cluster.Start): the shared one of cluster.Main belongs to
// a parent process, which alone could stop its API server.
package restart
