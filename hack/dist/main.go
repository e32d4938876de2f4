// Command dist cross-builds the plugins and packs one archive per plugin and
// platform (binary, LICENSE, completion helper) plus checksums.txt:
//
//	go run ./hack/dist -out dist -version v0.1.0
//
// `make dist` runs it with the Makefile's VERSION and COMMIT. The build date
// stamped into the binaries and every archive timestamp is the commit time
// (SOURCE_DATE_EPOCH), not the wall clock, so building the same commit again
// gives byte-identical archives and the same checksums.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/hack/release"
)

const versionPkg = "github.com/openmcp-plugins/kubectl-openmcp/pkg/version"

type options struct {
	out, version, commit, gocmd string
	epoch                       int64
	platforms                   []release.Platform
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("dist", flag.ContinueOnError)
	var o options
	var platforms, epoch string
	fs.StringVar(&o.out, "out", "dist", "Directory for the archives and checksums.txt (emptied first)")
	fs.StringVar(&o.version, "version", "", "Version stamped into the binaries (default: git describe)")
	fs.StringVar(&o.commit, "commit", "", "Git commit stamped into the binaries (default: git rev-parse HEAD)")
	fs.StringVar(&epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time for the build date and archive timestamps (default: the commit time)")
	fs.StringVar(&platforms, "platforms", "", "Comma-separated os/arch subset of the release platforms (default: all)")
	fs.StringVar(&o.gocmd, "go", "go", "The go command")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.platforms = release.Platforms
	if platforms != "" {
		o.platforms = nil
		for _, s := range strings.Split(platforms, ",") {
			p, err := release.ParsePlatform(strings.TrimSpace(s))
			if err != nil {
				return err
			}
			o.platforms = append(o.platforms, p)
		}
	}
	if o.version == "" {
		o.version = gitOr("v0.0.0-dev", "describe", "--tags", "--always", "--dirty")
	}
	if o.commit == "" {
		o.commit = gitOr("unknown", "rev-parse", "HEAD")
	}
	if epoch == "" {
		epoch = gitOr("0", "log", "-1", "--format=%ct")
	}
	var err error
	if o.epoch, err = strconv.ParseInt(epoch, 10, 64); err != nil || o.epoch < 0 {
		return fmt.Errorf("invalid -source-date-epoch %q: want seconds since 1970", epoch)
	}
	return dist(o)
}

func dist(o options) error {
	license, err := os.ReadFile(release.License)
	if err != nil {
		return fmt.Errorf("%w (run from the repository root)", err)
	}
	if err := os.RemoveAll(o.out); err != nil {
		return err
	}
	build := filepath.Join(o.out, ".build")
	if err := os.MkdirAll(build, 0o755); err != nil {
		return err
	}
	mtime := time.Unix(o.epoch, 0).UTC()
	ldflags := strings.Join([]string{
		"-s", "-w",
		"-X", versionPkg + ".Version=" + o.version,
		"-X", versionPkg + ".GitCommit=" + o.commit,
		"-X", versionPkg + ".BuildDate=" + mtime.Format(time.RFC3339),
	}, " ")

	var archives []string
	for _, p := range o.platforms {
		dir := filepath.Join(build, p.OS+"_"+p.Arch)
		// One go build per platform for both plugins: they share nearly all
		// their packages, which then compile once.
		args := []string{"build", "-trimpath", "-ldflags", ldflags, "-o", dir + string(filepath.Separator)}
		for _, pl := range release.Plugins {
			args = append(args, pl.Package())
		}
		fmt.Fprintf(os.Stderr, "building %s\n", p)
		cmd := exec.Command(o.gocmd, args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build for %s: %w", p, err)
		}
		for _, pl := range release.Plugins {
			bin, err := os.ReadFile(filepath.Join(dir, pl.Binary(p)))
			if err != nil {
				return err
			}
			name := pl.Archive(p)
			err = release.WriteArchive(filepath.Join(o.out, name), []release.Entry{
				{Name: pl.Binary(p), Mode: 0o755, Data: bin},
				{Name: pl.Helper(p), Mode: 0o755, Data: pl.HelperScript(p)},
				{Name: release.License, Mode: 0o644, Data: license},
			}, mtime)
			if err != nil {
				return err
			}
			archives = append(archives, name)
		}
	}
	if err := os.RemoveAll(build); err != nil {
		return err
	}
	if err := release.WriteChecksums(o.out, archives); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d archives and %s to %s (version %s)\n", len(archives), release.ChecksumsFile, o.out, o.version)
	return nil
}

func gitOr(def string, args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if s := strings.TrimSpace(string(out)); err == nil && s != "" {
		return s
	}
	return def
}
