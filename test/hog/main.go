// Command hog runs a command several times in a row while a CPU hog keeps
// every core busy, to show that tests synchronise on what happened rather
// than on wall-clock pacing: `make test-hog` runs the reliability suite
// under it. It stops at the first failing run.
//
//	go run ./test/hog [-runs N] [-cores N] -- COMMAND ARGS...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	runs := flag.Int("runs", 3, "how many times to run the command")
	cores := flag.Int("cores", runtime.NumCPU(), "busy goroutines, one per core by default")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: hog [-runs N] [-cores N] -- COMMAND ARGS...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, *runs, *cores, flag.Args()))
}

func run(ctx context.Context, runs, cores int, argv []string) int {
	runtime.GOMAXPROCS(cores + 1)
	var quit atomic.Bool
	var wg sync.WaitGroup
	for range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !quit.Load() {
			}
		}()
	}
	defer func() { quit.Store(true); wg.Wait() }()
	fmt.Printf("hog: %d busy goroutines on %d CPUs; running %q %d times\n", cores, runtime.NumCPU(), argv, runs)
	for i := 1; i <= runs; i++ {
		start := time.Now()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err := cmd.Run()
		took := time.Since(start).Round(time.Second)
		if err != nil {
			fmt.Printf("hog: run %d of %d FAILED after %s under the hog: %v\n", i, runs, took, err)
			return 1
		}
		fmt.Printf("hog: run %d of %d passed in %s under the hog\n", i, runs, took)
	}
	fmt.Printf("hog: %d runs in a row passed\n", runs)
	return 0
}
