package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// Options configure Start.
type Options struct {
	// Knative starts the real Knative Serving controller and the data-plane
	// stand-in, so that Services go Ready and status.traffic follows
	// spec.traffic.
	Knative bool
	// Eventing also runs Knative Eventing (implies Knative): its CRDs and
	// ConfigMaps, the combined controllers, broker ingress and filter, the
	// InMemoryChannel dispatcher and the PingSource adapter as host
	// processes, and a forward proxy for *.svc.cluster.local hosts (see
	// Route). One such stack runs per host at a time: the dispatcher's
	// ports are fixed.
	Eventing bool
	// WorkDir holds the kubeconfig and the controller's log; a temporary
	// directory when empty.
	WorkDir string
	// Logf reports progress; silent when nil.
	Logf func(format string, args ...any)
}

// Cluster is a running local control plane.
type Cluster struct {
	// Config is an administrator's client configuration.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for Config, for programs
	// started outside the process (kn, kubectl, the functions server).
	Kubeconfig string
	// Bin is the directory holding the built tools.
	Bin string
	// Root is the repository root.
	Root string

	env      *envtest.Environment
	workDir  string
	ownsWork bool
	knative  *knative
	eventing *eventing
	lock     *hostLock
	nsSeq    atomic.Int64
}

// ctrlLogSet records that Start has set controller-runtime's logger.
var ctrlLogSet atomic.Bool

// Start starts etcd and kube-apiserver from the repository's bin/ and
// installs the Knative CRDs; with opts.Knative it also starts the Serving
// controller and the data-plane stand-in. Call Stop when done.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	// envtest logs through controller-runtime's global logger, which
	// prints a stack trace to stderr when nothing has set it and the
	// process is over 30 s old (a busy machine, the demo's output): the
	// stack logs its own steps instead.
	if !ctrlLogSet.Swap(true) {
		ctrllog.SetLogger(logr.Discard())
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "bin")
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("local control plane: %s is not built (run `make tools`): %w", name, err)
		}
	}
	dirs, err := crdDirs(root)
	if err != nil {
		return nil, fmt.Errorf("local control plane: finding CRDs: %w", err)
	}
	if opts.Eventing {
		opts.Knative = true
		d, err := moduleDir(root, "knative.dev/eventing")
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, filepath.Join(d, imcCRD))
	}
	c := &Cluster{Bin: bin, Root: root, workDir: opts.WorkDir}
	if c.workDir == "" {
		if c.workDir, err = os.MkdirTemp("", "iter8-cluster-"); err != nil {
			return nil, err
		}
		c.ownsWork = true
	}
	// envtest looks up binaries in TEST_ASSET_*, then KUBEBUILDER_ASSETS,
	// then BinaryAssetsDirectory: a stray variable would silently win over
	// the binaries this repository pins.
	for _, v := range []string{"KUBEBUILDER_ASSETS", "TEST_ASSET_ETCD", "TEST_ASSET_KUBE_APISERVER", "TEST_ASSET_KUBECTL"} {
		os.Unsetenv(v)
	}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		CRDDirectoryPaths:        dirs,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 60 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
		// envtest waits 10 s for the CRDs to be served: at a load average
		// of 35 on 2 cores the API server took longer, and the whole test
		// binary failed to start.
		CRDInstallOptions:        envtest.CRDInstallOptions{MaxTime: 2 * time.Minute},
		AttachControlPlaneOutput: os.Getenv("ITER8_CONTROL_PLANE_OUTPUT") == "true",
	}
	c.env.ControlPlane.GetAPIServer().Configure().
		Set("service-cluster-ip-range", "10.0.0.0/24").
		Set("endpoint-reconciler-type", "none")
	c.env.ControlPlane.Etcd = &envtest.Etcd{}
	c.env.ControlPlane.Etcd.Configure().Set("unsafe-no-fsync", "true")

	logf("control plane: starting etcd and kube-apiserver from %s, then installing %d CRD directories (a few seconds; longer on a busy machine)", bin, len(dirs))
	start := time.Now()
	cfg, err := c.env.Start()
	if err != nil {
		c.stopQuietly()
		return nil, fmt.Errorf("local control plane: start: %w", err)
	}
	logf("control plane: etcd + kube-apiserver ready with %d CRDs in %s", len(c.env.CRDs), time.Since(start).Round(time.Millisecond))
	cfg.QPS, cfg.Burst = 200, 400
	c.Config = cfg
	c.Kubeconfig = filepath.Join(c.workDir, "kubeconfig")
	if err := c.writeKubeconfig(); err != nil {
		c.stopQuietly()
		return nil, err
	}
	if opts.Knative {
		if c.lock, err = lockHost("knative-stack", logf); err != nil {
			c.stopQuietly()
			return nil, err
		}
		logf("knative: configuring Serving and starting its controller")
		if c.knative, err = startKnative(ctx, c, opts.Eventing, logf); err != nil {
			c.stopQuietly()
			return nil, err
		}
	}
	if opts.Eventing {
		if c.eventing, err = startEventing(ctx, c, logf); err != nil {
			c.stopQuietly()
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) writeKubeconfig() error {
	u, err := c.env.ControlPlane.AddUser(envtest.User{Name: "iter8-admin", Groups: []string{"system:masters"}}, c.Config)
	if err != nil {
		return fmt.Errorf("local control plane: admin user: %w", err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return fmt.Errorf("local control plane: kubeconfig: %w", err)
	}
	// Reload through clientcmd so that the file and Config agree exactly.
	if _, err := clientcmd.Load(kc); err != nil {
		return fmt.Errorf("local control plane: kubeconfig: %w", err)
	}
	return os.WriteFile(c.Kubeconfig, kc, 0o600)
}

// Stop stops everything Start started and removes the work directory it
// created.
func (c *Cluster) Stop() error {
	var errs []error
	if c.eventing != nil {
		c.eventing.stop()
	}
	if c.knative != nil {
		errs = append(errs, c.knative.stop())
	}
	if c.env != nil {
		errs = append(errs, c.env.Stop())
	}
	errs = append(errs, c.lock.unlock())
	if c.ownsWork {
		errs = append(errs, os.RemoveAll(c.workDir))
	}
	return errors.Join(errs...)
}

func (c *Cluster) stopQuietly() { _ = c.Stop() }

// ControllerLog returns the Knative controller's log so far, for failures.
func (c *Cluster) ControllerLog() string {
	if c.knative == nil {
		return ""
	}
	b, _ := os.ReadFile(c.knative.proc.logPath)
	return string(b)
}

// Kube returns a core clientset for Config.
func (c *Cluster) Kube() kubernetes.Interface { return kubernetes.NewForConfigOrDie(c.Config) }

// Namespace creates a fresh namespace for one test. Nothing ever deletes
// namespaces here: without kube-controller-manager they never finish
// terminating, so each test gets its own.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, name)
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("%s-%d", strings.Trim(name, "-"), c.nsSeq.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Kube().CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	return name
}

// ControllerPID is the Knative Serving controller's process id, 0 when
// Start did not start it (for benchmarks that read its CPU time).
func (c *Cluster) ControllerPID() int {
	if c.knative == nil || c.knative.proc == nil || c.knative.proc.cmd.Process == nil {
		return 0
	}
	return c.knative.proc.cmd.Process.Pid
}
