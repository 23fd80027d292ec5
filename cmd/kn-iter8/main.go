package main

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/iter8-knative/iter8/cmd/kn-iter8/commands"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := commands.Run(ctx, commands.Env{
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Stdin:      os.Stdin,
		Now:        time.Now,
		HTTP:       &http.Client{Timeout: 30 * time.Second},
		IsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
		Commands:   []*cobra.Command{newSimulateCmd()},
	}, os.Args[1:])
	stop()
	os.Exit(code)
}

// usagef is a usage error (exit code 2) for the commands that live here.
func usagef(format string, args ...any) error { return commands.Usagef(format, args...) }
