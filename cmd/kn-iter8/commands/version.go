package commands

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is what `kn iter8 version` prints, read from the build
// information the Go toolchain stamps into the binary (the module version,
// and the git revision and time when built from a checkout), as kn and its
// plugins print theirs.
type Version struct {
	Version   string `json:"version"`
	BuildDate string `json:"buildDate,omitempty"`
	Revision  string `json:"gitRevision,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	Go        string `json:"go"`
	Platform  string `json:"platform"`
	// APIs are the Kubernetes API groups and versions the plugin uses.
	APIs []string `json:"supportedAPIs"`
}

// supportedAPIs are the API versions the commands read and write.
var supportedAPIs = []string{"serving.knative.dev/v1 (Service)", "eventing.knative.dev/v1 (Broker)"}

func readVersion(read func() (*debug.BuildInfo, bool)) Version {
	v := Version{Version: "unknown", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, APIs: supportedAPIs}
	if read == nil {
		read = debug.ReadBuildInfo
	}
	bi, ok := read()
	if !ok {
		return v
	}
	v.Go = bi.GoVersion
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.BuildDate = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func newVersionCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the version of kn iter8 (module version, git revision, build date, Go)",
		Long: `Show the version of kn iter8, from the build information Go stamps into
the binary: the module version, and the git revision and its date when it
was built from a checkout ("modified" when that checkout had changes).`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			v := readVersion(e.buildInfo)
			return writeOutput(e.stdout, output, v, func(w io.Writer) error { return v.table(w) })
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", outputTable, "output format: table, json or yaml")
	return cmd
}

func (v Version) table(w io.Writer) error {
	rev := v.Revision
	if rev == "" {
		rev = "unknown (not built from a git checkout)"
	} else if v.Modified {
		rev += " (modified)"
	}
	date := v.BuildDate
	if date == "" {
		date = "unknown"
	}
	_, err := fmt.Fprintf(w, "Version:      %s\nBuild Date:   %s\nGit Revision: %s\nGo:           %s %s\nSupported APIs:\n", v.Version, date, rev, v.Go, v.Platform)
	for _, a := range v.APIs {
		if err == nil {
			_, err = fmt.Fprintf(w, "- %s\n", a)
		}
	}
	return err
}
