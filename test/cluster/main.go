package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// Environment variables between the parent (which owns the control plane)
// and the child (which runs the tests).
const (
	envKubeconfig = "ITER8_TEST_KUBECONFIG"
	envWorkDir    = "ITER8_TEST_WORKDIR"
)

var (
	shared     *Cluster
	sharedOnce sync.Once
)

// Main runs a test binary's tests against one shared control plane. In the
// parent process it starts the control plane, re-runs the test binary as a
// child that runs the tests, and stops the control plane however the child
// ends (pass, fail, panic, timeout or a signal to the parent). Use it as
//
//	func TestMain(m *testing.M) { cluster.Main(m, cluster.Options{Knative: true}) }
//
// The integration tier never skips: if the control plane cannot start, every
// test binary using Main fails.
func Main(m *testing.M, opts Options) {
	if os.Getenv(envKubeconfig) != "" {
		os.Exit(m.Run())
	}
	os.Exit(parent(opts))
}

func parent(opts Options) int {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if opts.Logf == nil {
		opts.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "cluster: "+format+"\n", args...)
		}
	}
	c, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the integration tier needs the local control plane: %v\n", err)
		return 1
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "cluster: stop: %v\n", err)
		}
	}()
	child := exec.Command(os.Args[0], os.Args[1:]...)
	child.Stdin, child.Stdout, child.Stderr = nil, os.Stdout, os.Stderr
	child.Env = append(os.Environ(), envKubeconfig+"="+c.Kubeconfig, envWorkDir+"="+c.workDir)
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := child.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: running tests: %v\n", err)
		return 1
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = child.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			_ = child.Process.Kill()
			err = <-done
		}
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			if log := c.ControllerLog(); log != "" && os.Getenv("ITER8_SHOW_CONTROLLER_LOG") == "true" {
				fmt.Fprintf(os.Stderr, "--- knative controller log ---\n%s\n", log)
			}
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "cluster: tests ended: %v\n", err)
		return 1
	}
	return 0
}

// Shared returns the control plane that Main started for this test binary.
// It fails the test when the binary was not started through Main.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	sharedOnce.Do(func() {
		path := os.Getenv(envKubeconfig)
		if path == "" {
			return
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			panic(fmt.Sprintf("cluster: kubeconfig %s: %v", path, err))
		}
		cfg.QPS, cfg.Burst = 200, 400
		root, _ := RepoRoot()
		shared = &Cluster{Config: cfg, Kubeconfig: path, Root: root, workDir: os.Getenv(envWorkDir)}
		if root != "" {
			shared.Bin = root + "/bin"
		}
	})
	if shared == nil {
		t.Fatal("cluster.Shared: this test binary's TestMain must call cluster.Main")
	}
	return shared
}
