// Package release is the layout of a release of the two plugins: which
// plugins, for which platforms, under which archive names and with which files
// inside. hack/dist (which builds the archives) and hack/krew-manifest (which
// points krew at them) both read it, so the two cannot drift apart.
package release

import (
	"fmt"
	"regexp"
	"strings"
)

const (
	// Homepage is also what krew-release-bot checks ownership against.
	Homepage = "https://github.com/openmcp-plugins/kubectl-openmcp"
	// DownloadBase is where GitHub serves the assets of a release tag.
	DownloadBase = Homepage + "/releases/download"
	// DefaultVersion names an untagged build in the krew manifests: krew
	// requires a semantic version and `git describe` of an untagged tree is a
	// commit hash.
	DefaultVersion = "v0.1.0"
	// License is shipped in every archive; krew's validator refuses plugins
	// that do not install one.
	License = "LICENSE"
)

// Platform is one GOOS/GOARCH target; the names are also krew's os/arch
// selector labels.
type Platform struct{ OS, Arch string }

// Platforms are the release targets, in the order the manifests list them.
var Platforms = []Platform{
	{"linux", "amd64"},
	{"linux", "arm64"},
	{"darwin", "amd64"},
	{"darwin", "arm64"},
	{"windows", "amd64"},
}

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Windows platforms get .exe binaries, .bat helpers and .zip archives, which
// is what Windows users can open without extra tools; krew unpacks both.
func (p Platform) Windows() bool { return p.OS == "windows" }

// ArchiveExt is ".zip" on Windows and ".tar.gz" elsewhere.
func (p Platform) ArchiveExt() string {
	if p.Windows() {
		return ".zip"
	}
	return ".tar.gz"
}

// ParsePlatform reads "os/arch" and accepts only the release targets.
func ParsePlatform(s string) (Platform, error) {
	for _, p := range Platforms {
		if p.String() == s {
			return p, nil
		}
	}
	names := make([]string, len(Platforms))
	for i, p := range Platforms {
		names[i] = p.String()
	}
	return Platform{}, fmt.Errorf("unknown platform %q: want one of %s", s, strings.Join(names, ", "))
}

// Plugin is one kubectl plugin as krew knows it.
type Plugin struct {
	// Name is the krew name and the word after `kubectl`.
	Name string
	// ShortDescription is krew's one-line summary (at most 50 characters).
	ShortDescription string
	// Description is plain paragraphs separated by blank lines; the manifest
	// wraps them at 80 columns.
	Description string
	// Requirements says what the plugin needs on the cluster side; it opens
	// the manifest's caveats.
	Requirements string
}

// Plugins are the plugins built from this repository.
var Plugins = []Plugin{
	{
		Name:             "openmcp",
		ShortDescription: "Manage an OpenMCP / KubeFed cluster federation",
		Description: `kubectl openmcp runs an OpenMCP multi-cluster federation (KubeFed v0.10.0 plus
the OpenMCP controllers) from your own kubeconfig, replacing omcpctl and its NFS
share of kubeconfigs and etcd keys.

It joins and unjoins member clusters, sets their region and zone on the nodes and
the KubeFedCluster, configures each member's MetalLB address pool (legacy
ConfigMap or metallb.io CRDs) without overlaps across the federation, places
OpenMCP resources or plain manifests, shows resources of every member in one
table (get --all-clusters), shows what the federation planned beside what each
member runs (status), manages OpenMCPPolicies, and checks the control plane.`,
		Requirements: `Needs on the cluster side: a KubeFed v0.10.0 host cluster (KubeFed controller in
kube-federation-system) with the OpenMCP CRDs (group openmcp.k8s.io) installed,
and a kubeconfig with one context for the host ("openmcp" by default, see
--host-context) and one per member cluster. Read-only commands need read access;
join, unjoin, label, metallb, place and policy need write access on the host and
the members they touch.`,
	},
	{
		Name:             "mcks",
		ShortDescription: "Inspect and drive multi-cloud MCKS clusters",
		Description: `kubectl mcks works with CB-Ladybug MCKS (Cloud-Barista), a Kubernetes cluster
whose nodes come from several clouds.

On the cluster it lists nodes and pods by cloud (CSP), region and zone,
summarises the cluster per cloud, sets topology labels and places workloads on
a cloud and region with node affinity and topology spread. Through the MCKS REST
API it creates, lists and deletes clusters and nodes, and merges a cluster's
kubeconfig into yours under a name of its own; SSH keys are never printed.`,
		Requirements: `Needs on the cluster side: an MCKS-provisioned cluster in your kubeconfig (its nodes
labelled topology.cloud-barista.github.io/csp and topology.kubernetes.io/region)
for the cluster commands, and the MCKS REST API (default
http://localhost:1470/mcks, set --mcks-server or $MCKS_SERVER) for the cluster,
node and kubeconfig commands.`,
	},
}

// PluginByName finds a plugin of Plugins.
func PluginByName(name string) (Plugin, bool) {
	for _, p := range Plugins {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// Command is the binary's name without extension: kubectl-openmcp.
func (pl Plugin) Command() string { return "kubectl-" + pl.Name }

// Package is the main package that builds the binary.
func (pl Plugin) Package() string { return "./cmd/" + pl.Command() }

// Binary is the binary's file name on the platform.
func (pl Plugin) Binary(p Platform) string {
	if p.Windows() {
		return pl.Command() + ".exe"
	}
	return pl.Command()
}

// HelperCommand is what kubectl (>= 1.26) looks up on PATH to complete
// `kubectl <plugin> ...`: kubectl_complete-openmcp.
func (pl Plugin) HelperCommand() string { return "kubectl_complete-" + pl.Name }

// Helper is the completion helper's file name on the platform.
func (pl Plugin) Helper(p Platform) string {
	if p.Windows() {
		// Go's exec.LookPath, which kubectl uses, tries PATHEXT, so the
		// .bat is found under the bare name.
		return pl.HelperCommand() + ".bat"
	}
	return pl.HelperCommand()
}

// Archive is the release asset's file name. It has no version in it: the
// release tag in the download URL already says which version it is.
func (pl Plugin) Archive(p Platform) string {
	return fmt.Sprintf("%s_%s_%s%s", pl.Command(), p.OS, p.Arch, p.ArchiveExt())
}

// Files are the names inside the archive, sorted.
func (pl Plugin) Files(p Platform) []string {
	return []string{License, pl.Binary(p), pl.Helper(p)}
}

// HelperScript is the completion helper for the platform. It calls the
// plugin through PATH rather than next to itself, so a copy of it placed
// anywhere on PATH keeps working across `kubectl krew upgrade`.
func (pl Plugin) HelperScript(p Platform) []byte {
	if p.Windows() {
		return []byte(strings.ReplaceAll(fmt.Sprintf(`@echo off
rem kubectl (1.26 and later) runs %[1]s from PATH to complete
rem "kubectl %[2]s ..."; it passes the words typed so far.
%[3]s __complete %%*
`, pl.HelperCommand(), pl.Name, pl.Binary(p)), "\n", "\r\n"))
	}
	return fmt.Appendf(nil, `#!/bin/sh
# kubectl (1.26 and later) runs %[1]s from PATH to complete
# "kubectl %[2]s ..."; it passes the words typed so far.
exec %[3]s __complete "$@"
`, pl.HelperCommand(), pl.Name, pl.Command())
}

var semverRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// ManifestVersion is the krew spec.version for a build stamped with version:
// the version itself when it is a release tag vX.Y.Z, else DefaultVersion
// and false.
func ManifestVersion(version string) (string, bool) {
	if semverRE.MatchString(version) {
		return version, true
	}
	return DefaultVersion, false
}
