package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// hostLock serialises, across processes on one host, the parts of the stack
// that bind fixed ports: Knative's sharedmain programs always listen on
// :8080 (health probes) and :8008 (profiling), so two test binaries, or two
// checkouts tested at once, would otherwise make one controller exit. The
// kernel drops the lock when the holder dies, so a crashed run never leaves
// it held.
type hostLock struct{ f *os.File }

// lockHost blocks until this process holds the host-wide lock named name.
// The fixed ports belong to a network namespace: a process in its own
// namespace may say so (ITER8_PRIVATE_NETNS=1) and take that namespace's
// lock only, so that stacks in separate namespaces do not wait for each
// other.
func lockHost(name string, logf func(string, ...any)) (*hostLock, error) {
	path := filepath.Join(os.TempDir(), "iter8-"+name+netnsSuffix()+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("host lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		logf("host lock: waiting for %s (another local stack uses the fixed Knative ports)", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("host lock %s: %w", path, err)
		}
	}
	return &hostLock{f: f}, nil
}

func (l *hostLock) unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

// netnsSuffix is "" unless ITER8_PRIVATE_NETNS=1 says that this process
// runs in a network namespace of its own (`unshare -n`, `ip netns exec`),
// where the fixed ports are free whatever the host runs: then the lock is
// that namespace's, "-net:[INODE]".
func netnsSuffix() string {
	if os.Getenv("ITER8_PRIVATE_NETNS") != "1" {
		return ""
	}
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return ""
	}
	return "-" + self
}
