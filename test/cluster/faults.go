package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// apiServerProc is a kube-apiserver that a fault injection (re)started
// itself, outside envtest, with the arguments envtest gave the first one.
type apiServerProc struct {
	args []string // argv, argv[0] the binary
	cmd  *exec.Cmd
	done chan struct{}
}

// faults remembers, per Cluster, the API server arguments and the process
// that replaced envtest's. It lives here rather than in Cluster so that the
// fault injection stays an add-on to the harness.
var faults sync.Map // *Cluster -> *apiServerProc

// StopAPIServer stops kube-apiserver (SIGTERM, then waits for it to exit,
// however long a busy machine makes that; SIGKILL only if ctx ends first)
// and leaves etcd, the certificates and the port as they are, so that
// StartAPIServer brings the same API server back over the same data. Clients
// see connection refused meanwhile. When it returns, the API server is
// down: a test synchronises on that, not on a pause. It works only on a
// control plane this process started with Start (not through Main, whose
// API server belongs to the parent process). It is a no-op when the API
// server is already down.
func (c *Cluster) StopAPIServer(ctx context.Context) error {
	p, err := c.apiServer()
	if err != nil {
		return err
	}
	if p.cmd != nil {
		select {
		case <-p.done:
			return nil
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			_ = p.cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("kube-apiserver: did not stop after SIGTERM before %w; killed", ctx.Err())
		}
	}
	// The first API server is envtest's child: find it by its port.
	pid, err := c.envtestAPIServerPID()
	if err != nil {
		return err
	}
	if pid == 0 {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("kube-apiserver (pid %d): %w", pid, err)
	}
	// envtest's goroutine reaps it; wait until it has.
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		st, err := procState(pid)
		return err != nil || st == 'Z', nil
	})
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return fmt.Errorf("kube-apiserver (pid %d): did not stop: %w", pid, err)
	}
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, with the
// same arguments (port, certificates, etcd), and waits until it answers
// /readyz, however long that takes, until ctx ends. The process is killed
// when this process dies.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	p, err := c.apiServer()
	if err != nil {
		return err
	}
	if p.cmd != nil {
		select {
		case <-p.done:
		default:
			return errors.New("kube-apiserver: already running")
		}
	} else if pid, err := c.envtestAPIServerPID(); err != nil {
		return err
	} else if pid != 0 {
		return errors.New("kube-apiserver: already running")
	}
	logPath := filepath.Join(c.workDir, "kube-apiserver-restarted.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// StopAPIServer returned once the old process had exited, so its port
	// is free.
	cmd := exec.Command(p.args[0], p.args[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("kube-apiserver: restart: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(done) }()
	p.cmd, p.done = cmd, done
	kube, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case <-done:
			return false, fmt.Errorf("kube-apiserver exited during restart (log %s)", logPath)
		default:
		}
		b, err := kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		last = fmt.Sprintf("%s %v", bytes.TrimSpace(b), err)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver: not ready after restart: %w (last /readyz: %s)", err, last)
	}
	return nil
}

// apiServer returns what the fault injection knows of c's API server,
// reading envtest's process arguments the first time.
func (c *Cluster) apiServer() (*apiServerProc, error) {
	if v, ok := faults.Load(c); ok {
		return v.(*apiServerProc), nil
	}
	if c.env == nil {
		return nil, errors.New("kube-apiserver: this process did not start the control plane (use cluster.Start, not Main/Shared)")
	}
	pid, err := c.envtestAPIServerPID()
	if err != nil {
		return nil, err
	}
	if pid == 0 {
		return nil, errors.New("kube-apiserver: not running")
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver (pid %d): reading its arguments: %w", pid, err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	v, _ := faults.LoadOrStore(c, &apiServerProc{args: args})
	return v.(*apiServerProc), nil
}

// envtestAPIServerPID finds the kube-apiserver that envtest started for c:
// a child of this process serving c's secure port. 0 when none runs.
func (c *Cluster) envtestAPIServerPID() (int, error) {
	u, err := url.Parse(c.Config.Host)
	if err != nil {
		return 0, fmt.Errorf("kube-apiserver: host %q: %w", c.Config.Host, err)
	}
	portArg := "--secure-port=" + u.Port()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	me := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// comm may hold spaces; the fields after its closing parenthesis
		// are state and ppid.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || !bytes.Contains(stat[:i], []byte("(kube-apiserver")) {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid != me {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		for _, a := range strings.Split(string(cmdline), "\x00") {
			if a == portArg {
				return pid, nil
			}
		}
	}
	return 0, nil
}

// procState returns the state letter of a process (R, S, Z, ...).
func procState(pid int) (byte, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 || i+2 >= len(stat) {
		return 0, fmt.Errorf("pid %d: unreadable stat", pid)
	}
	return stat[i+2], nil
}
