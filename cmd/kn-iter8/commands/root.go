package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/iter8-knative/iter8/events"
	"github.com/iter8-knative/iter8/pkg/plan"
	"github.com/iter8-knative/iter8/pkg/stats"
)

// Env is everything the commands touch outside their arguments, so that
// tests run the real command tree against their own output, clock and
// cluster.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	// Now is the clock ages and event times are read from.
	Now func() time.Time
	// HTTP sends events.
	HTTP *http.Client
	// IsTerminal makes watch redraw the screen in place.
	IsTerminal bool
	// Commands are added to the tree, such as `kn iter8 simulate`, which
	// lives beside main.
	Commands []*cobra.Command
	// BuildInfo is what `version` prints; default debug.ReadBuildInfo.
	BuildInfo func() (*debug.BuildInfo, bool)
}

// env is Env with the cluster connection, which tests replace.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	now            func() time.Time
	http           *http.Client
	isTerminal     bool
	extra          []*cobra.Command
	buildInfo      func() (*debug.BuildInfo, bool)
	// clients connects to the cluster the flags name.
	clients func(f *kubeFlags) (*clients, error)
	// eta configures the ETA's forward runs; zero is plan's defaults.
	eta plan.ETAOptions
	// baseline reads a baseline's data from Prometheus; nil is
	// readBaseline.
	baseline func(ctx context.Context, e *env, lookup func(string) (string, bool), ns, name string, spec events.ExperimentSpec, from, to time.Time) (map[string]stats.Data, error)
}

func (e Env) internal() *env {
	in := &env{
		stdout: e.Stdout, stderr: e.Stderr, stdin: e.Stdin, now: e.Now, http: e.HTTP,
		isTerminal: e.IsTerminal, extra: e.Commands, buildInfo: e.BuildInfo, clients: kubeClients,
	}
	if in.buildInfo == nil {
		in.buildInfo = debug.ReadBuildInfo
	}
	if in.stdout == nil {
		in.stdout = io.Discard
	}
	if in.stderr == nil {
		in.stderr = io.Discard
	}
	if in.stdin == nil {
		in.stdin = strings.NewReader("")
	}
	if in.now == nil {
		in.now = time.Now
	}
	if in.http == nil {
		in.http = &http.Client{Timeout: 30 * time.Second}
	}
	return in
}

// Exit codes of kn-iter8. Run alone, it exits 0 on success, 1 on an error
// and 2 on a usage error (a mistake in the command line), as cobra-based
// tools commonly do. Through kn (`kn iter8 ...`) the caller sees kn's exit
// code instead, and kn exits 1 whenever its plugin fails, whatever the
// plugin's own code: there, every error is 1 (test/integration's
// TestKnPluginDiscoveredByKn checks both).
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2

	exitOK    = ExitOK
	exitError = ExitError
	exitUsage = ExitUsage
)

// usageError is a mistake in the command line: exit code 2, and a pointer
// to --help.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Usagef returns a usage error, which Run answers with exit code 2 and a
// pointer to --help, for commands added through Env.Commands.
func Usagef(format string, args ...any) error { return usagef(format, args...) }

// NewRoot returns the command tree of `kn iter8`.
func NewRoot(e Env) *cobra.Command { return newRootCmd(e.internal()) }

func newRootCmd(e *env) *cobra.Command {
	kf := &kubeFlags{httpLog: e.stderr}
	root := &cobra.Command{
		Use:   "kn-iter8",
		Short: "Run and follow iter8 experiments on Knative Services",
		Long: `Run and follow iter8 experiments on Knative Services.

An experiment lives on its Service: kn service describe shows its one-line
status (annotation iter8.dev/status) and the traffic block; kn iter8 shows all
of it.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kn iter8"},
		SilenceUsage:  true,
		SilenceErrors: true,
		// cobra's completion command, as kn has: the scripts complete the
		// kn-iter8 binary by its name (source <(kn iter8 completion bash)).
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetIn(e.stdin)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	kf.register(root)

	root.AddCommand(
		newStartCmd(e, kf),
		newPlanCmd(e, kf),
		newDescribeCmd(e, kf),
		newWatchCmd(e, kf),
		newListCmd(e, kf),
		newReportCmd(e, kf),
		newVersionCmd(e),
	)
	for _, action := range controlActions {
		root.AddCommand(newControlCmd(e, kf, action))
	}
	root.AddCommand(e.extra...)
	return root
}

// Run executes `kn iter8 args...` and returns its exit code: 0 on success,
// 1 on an error, 2 on a usage error. Errors are printed to e.Stderr.
func Run(ctx context.Context, e Env, args []string) int { return run(ctx, e.internal(), args) }

func run(ctx context.Context, e *env, args []string) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(e.stderr, "Error: %s\n", err)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitError
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// serviceArg requires exactly one argument: the Service.
func serviceArg(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 0:
		return usagef("'%s' requires the name of a Knative Service", cmd.CommandPath())
	case 1:
		return nil
	}
	return usagef("'%s' takes one Service, got %d arguments: %s", cmd.CommandPath(), len(args), strings.Join(args, " "))
}

// Output formats of describe and list.
const (
	outputTable = "table"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

func checkOutput(o string) error {
	if !slices.Contains([]string{outputTable, outputJSON, outputYAML}, o) {
		return usagef("unknown output format %q: use table, json or yaml", o)
	}
	return nil
}

// writeOutput prints v as JSON or YAML, or through table for -o table.
func writeOutput(w io.Writer, format string, v any, table func(io.Writer) error) error {
	switch format {
	case outputJSON:
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	case outputYAML:
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	return table(w)
}
