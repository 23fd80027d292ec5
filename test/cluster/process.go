package cluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/iter8-knative/iter8/test/internal/proc"
)

// process is one program of the local stack, run from bin/ with its output
// in a log file under the work directory.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

// startProcess starts bin/binary as name with the given environment added to
// this process's. The kernel kills it when the starting process dies
// (Pdeathsig), so that nothing outlives a killed test binary.
func startProcess(c *Cluster, name, binary string, env []string, args ...string) (*process, error) {
	path := filepath.Join(c.Bin, binary)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %s is not built (run `make tools`): %w", name, binary, err)
	}
	p := &process{name: name, logPath: filepath.Join(c.workDir, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("%s: starting %s: %w", name, path, err)
	}
	go func() { _ = p.cmd.Wait(); logFile.Close(); close(p.exited) }()
	return p, nil
}

// stop sends SIGTERM and, after grace, SIGKILL. Knative's programs may wait
// for leases and informers on SIGTERM far longer than a test should.
func (p *process) stop(grace time.Duration) {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	proc.Terminate(p.cmd.Process, p.exited, grace)
}

// stopAll stops the processes at once, so that their graces overlap.
func stopAll(grace time.Duration, procs ...*process) {
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(grace) }()
	}
	wg.Wait()
}

// dialable reports whether something accepts TCP connections on addr.
func dialable(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// running reports whether the process has not exited.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// freePort returns a loopback TCP port that was free a moment ago. The host
// lock keeps other local stacks from racing for it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
