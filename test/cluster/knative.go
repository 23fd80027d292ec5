package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// QueueSidecarImage is the queue-proxy image the controller writes into
// Deployments. Nothing pulls it here; a digest keeps the controller from
// resolving a tag over the network.
const QueueSidecarImage = "registry.example.com/knative/queue@sha256:0000000000000000000000000000000000000000000000000000000000000001"

type knative struct {
	cmd     *exec.Cmd
	logPath string
	cancel  context.CancelFunc
	done    chan struct{}
	exited  chan struct{}
}

func startKnative(ctx context.Context, c *Cluster, logf func(string, ...any)) (*knative, error) {
	ctrl := filepath.Join(c.Bin, "knative-controller")
	if _, err := os.Stat(ctrl); err != nil {
		return nil, fmt.Errorf("knative: the Serving controller is not built (run `make tools`): %w", err)
	}
	serving, err := moduleDir(c.Root, "knative.dev/serving")
	if err != nil {
		return nil, err
	}
	networking, err := moduleDir(c.Root, "knative.dev/networking")
	if err != nil {
		return nil, err
	}
	files := []string{filepath.Join(serving, "config/core/100-namespace.yaml")}
	cms, _ := filepath.Glob(filepath.Join(serving, "config/core/configmaps/*.yaml"))
	files = append(files, cms...)
	files = append(files, filepath.Join(networking, "config/config-network.yaml"))
	if err := applyFiles(ctx, c.Config, files, patchServingConfig); err != nil {
		return nil, fmt.Errorf("knative: configuring: %w", err)
	}

	k := &knative{logPath: filepath.Join(c.workDir, "knative-controller.log"), done: make(chan struct{}), exited: make(chan struct{})}
	logFile, err := os.Create(k.logPath)
	if err != nil {
		return nil, err
	}
	k.cmd = exec.Command(ctrl, "--kubeconfig", c.Kubeconfig)
	k.cmd.Env = append(os.Environ(),
		"SYSTEM_NAMESPACE=knative-serving",
		"POD_NAME=controller-local",
		"CONFIG_LOGGING_NAME=config-logging",
		"CONFIG_OBSERVABILITY_NAME=config-observability",
	)
	k.cmd.Stdout, k.cmd.Stderr = logFile, logFile
	// The controller must not outlive the process that started it, even
	// when that process is killed.
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := k.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("knative: starting controller: %w", err)
	}
	go func() { _ = k.cmd.Wait(); logFile.Close(); close(k.exited) }()
	logf("knative: Serving controller started (pid %d, log %s)", k.cmd.Process.Pid, k.logPath)

	dctx, cancel := context.WithCancel(context.Background())
	k.cancel = cancel
	dp, err := newDataPlane(c.Config)
	if err != nil {
		k.stop()
		return nil, err
	}
	go func() {
		defer close(k.done)
		dp.run(dctx)
	}()
	return k, nil
}

func (k *knative) stop() error {
	if k.cancel != nil {
		k.cancel()
		<-k.done
	}
	if k.cmd != nil && k.cmd.Process != nil {
		_ = k.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-k.exited:
		case <-time.After(5 * time.Second):
			_ = k.cmd.Process.Kill()
			<-k.exited
		}
	}
	return nil
}

// patchServingConfig adapts Knative's shipped ConfigMaps to a cluster with no
// registry: a queue-proxy image by digest, and no tag resolution.
func patchServingConfig(u *unstructured.Unstructured) {
	if u.GetKind() != "ConfigMap" || u.GetName() != "config-deployment" {
		return
	}
	data, _, _ := unstructured.NestedStringMap(u.Object, "data")
	if data == nil {
		data = map[string]string{}
	}
	data["queue-sidecar-image"] = QueueSidecarImage
	data["registries-skipping-tag-resolving"] = "kind.local,ko.local,dev.local,docker.io,index.docker.io,gcr.io,ghcr.io,quay.io,registry.example.com"
	_ = unstructured.SetNestedStringMap(u.Object, data, "data")
}

// applyFiles creates every object in the YAML files, after mutate, and
// updates those that exist.
func applyFiles(ctx context.Context, cfg *rest.Config, files []string, mutate func(*unstructured.Unstructured)) error {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := DecodeYAML(b)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, u := range objs {
			if mutate != nil {
				mutate(u)
			}
			if err := apply(ctx, dyn, mapper, u); err != nil {
				return fmt.Errorf("%s: %s %s: %w", f, u.GetKind(), u.GetName(), err)
			}
		}
	}
	return nil
}

// DecodeYAML splits a multi-document YAML file into objects, skipping empty
// documents.
func DecodeYAML(b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(obj) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
}

func apply(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	var m *meta.RESTMapping
	// A CRD installed a moment ago may not be in discovery yet.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		var err error
		m, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			if r, ok := mapper.(interface{ Reset() }); ok {
				r.Reset()
			}
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("no API for %s", gvk)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	_, err = ri.Create(ctx, u, metav1.CreateOptions{})
	if err == nil {
		return nil
	}
	cur, gerr := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if gerr != nil {
		return err
	}
	u.SetResourceVersion(cur.GetResourceVersion())
	_, err = ri.Update(ctx, u, metav1.UpdateOptions{})
	return err
}
