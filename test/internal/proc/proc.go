// Package proc owns how the tests end the programs they start (the
// control plane's, Prometheus, iter8-functions): SIGTERM first, so that a
// program finishes what it has in flight, then SIGKILL after a grace.
package proc

import (
	"os"
	"syscall"
	"time"
)

// Terminate sends p SIGTERM and waits until exited is closed (by the
// goroutine that waits for p); if that takes longer than grace, it kills
// p and waits again. It reports whether p had to be killed.
func Terminate(p *os.Process, exited <-chan struct{}, grace time.Duration) (killed bool) {
	_ = p.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-exited:
		return false
	case <-timer.C:
		_ = p.Kill()
		<-exited
		return true
	}
}
