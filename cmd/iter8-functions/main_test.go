package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kubeconfig points at an API server that is never contacted: start-up
// needs none, which is what lets Knative scale the functions to zero.
const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`

func build(tb testing.TB) (bin, cfg string) {
	tb.Helper()
	dir := tb.TempDir()
	bin = filepath.Join(dir, "iter8-functions")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	cfg = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cfg, []byte(kubeconfig), 0o600); err != nil {
		tb.Fatal(err)
	}
	return bin, cfg
}

func freeAddr(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the binary and returns it once /readyz answers 200.
func start(tb testing.TB, bin, cfg string) (*exec.Cmd, time.Duration) {
	addr := freeAddr(tb)
	cmd := exec.Command(bin, "--listen", addr, "--kubeconfig", cfg)
	cmd.Env = append(os.Environ(), "ITER8_PROMETHEUS_URL=")
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	client := &http.Client{Timeout: 100 * time.Millisecond}
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, time.Since(t0)
			}
		}
		if time.Since(t0) > 10*time.Second {
			cmd.Process.Kill()
			tb.Fatalf("not ready after 10s: %v", err)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

func rssMiB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// BenchmarkColdStart measures process start to a ready /readyz, the cost
// Knative pays when it scales the functions from zero, and reports the
// idle resident set size.
func BenchmarkColdStart(b *testing.B) {
	bin, cfg := build(b)
	var rss float64
	b.ResetTimer()
	for b.Loop() {
		cmd, _ := start(b, bin, cfg)
		b.StopTimer()
		rss = rssMiB(cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		b.StartTimer()
	}
	b.ReportMetric(rss, "MiB-rss-idle")
}

// TestServesAndStops runs the real binary: it becomes ready without an API
// server and exits cleanly on SIGTERM.
func TestServesAndStops(t *testing.T) {
	bin, cfg := build(t)
	cmd, took := start(t, bin, cfg)
	t.Logf("ready in %s, RSS %.1f MiB", took, rssMiB(cmd.Process.Pid))
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not exit within 10s of SIGINT")
	}
}
