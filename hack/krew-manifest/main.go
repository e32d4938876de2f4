// Command krew-manifest writes the krew plugin manifests
// (krew-manifests/<plugin>.yaml) from the archives `make dist` built, with
// each platform's sha256 read from dist/checksums.txt and checked against the
// archive, and the krew-release-bot templates (krew-manifests/templates/):
//
//	go run ./hack/krew-manifest -dist dist -version v0.1.0
//
// A version that is not a release tag vX.Y.Z (an untagged tree describes
// itself by commit hash) is written as v0.1.0, with a warning.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/openmcp-plugins/kubectl-openmcp/hack/release"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("krew-manifest", flag.ContinueOnError)
	distDir := fs.String("dist", "dist", "Directory holding the archives and checksums.txt of make dist")
	version := fs.String("version", "", "Release version vX.Y.Z (default "+release.DefaultVersion+")")
	out := fs.String("out", "krew-manifests", "Directory for <plugin>.yaml; the release-bot templates go to its templates/")
	baseURL := fs.String("base-url", release.DownloadBase, "URL under which <version>/<archive> is downloaded")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	v, ok := release.ManifestVersion(*version)
	if !ok {
		fmt.Fprintf(os.Stderr, "warning: version %q is not a release tag vX.Y.Z; the manifests say %s\n", *version, v)
	}
	sums, err := release.ReadChecksums(*distDir)
	if err != nil {
		return err
	}
	templates := filepath.Join(*out, "templates")
	if err := os.MkdirAll(templates, 0o755); err != nil {
		return err
	}
	for _, pl := range release.Plugins {
		m, err := release.Manifest(pl, v, *baseURL, sums)
		if err != nil {
			return err
		}
		// metadata.name must equal the file name: krew derives the plugin
		// name from it.
		if err := os.WriteFile(filepath.Join(*out, pl.Name+".yaml"), m, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(templates, pl.Name+".yaml"), release.ReleaseBotTemplate(pl), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "wrote krew manifests for %s to %s\n", v, *out)
	return nil
}
