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

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
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
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if _, err := c.ApplyManifest(ctx, b, func(u *unstructured.Unstructured) bool {
			patchServingConfig(u)
			return true
		}); err != nil {
			return nil, fmt.Errorf("knative: configuring from %s: %w", f, err)
		}
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
	logf("knative: applied %d configuration manifests; Serving controller started (pid %d, log %s)", len(files), k.cmd.Process.Pid, k.logPath)

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
	logf("knative: data-plane stand-in running (marks Deployments, PodAutoscalers and KIngresses Ready); Services go Ready once the controller has synced")
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
