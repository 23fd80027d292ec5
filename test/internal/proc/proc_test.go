package proc

import (
	"bufio"
	"os/exec"
	"testing"
	"time"
)

func TestTerminate(t *testing.T) {
	for _, tc := range []struct {
		name string
		// script runs under sh; one that ignores SIGTERM must be killed.
		script string
		grace  time.Duration
		killed bool
	}{
		{name: "ends on SIGTERM", script: "echo ready; exec sleep 600", grace: 10 * time.Minute},
		{name: "killed after the grace", script: `trap "" TERM; echo ready; while :; do sleep 0.1; done`, grace: 200 * time.Millisecond, killed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tc.script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Signal only once the script has set its trap.
			if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
				t.Fatalf("script said %q, %v", line, err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			if got := Terminate(cmd.Process, exited, tc.grace); got != tc.killed {
				t.Errorf("killed = %v, want %v", got, tc.killed)
			}
			select {
			case <-exited:
			default:
				t.Error("Terminate returned before the process exited")
			}
		})
	}
}
