// Package reference renders the plugins' cobra trees as Markdown.
package reference

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/plugins/mcks"
	"github.com/openmcp-plugins/kubectl-openmcp/plugins/openmcp"
)

// Write renders every command of both plugins into dir, one file each.
func Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	streams := genericiooptions.NewTestIOStreamsDiscard()
	for _, root := range []*cli.Root{openmcp.NewCmdOpenMCP(streams), mcks.NewCmdMCKS(streams)} {
		cmd := root.Command
		// The default names the home folder of whoever generates the docs.
		if f := cmd.PersistentFlags().Lookup("cache-dir"); f != nil {
			f.DefValue = "$HOME/.kube/cache"
		}
		cmd.DisableAutoGenTag = true // no dates: the files change only when commands do
		walk(cmd, func(c *cobra.Command) { c.DisableAutoGenTag = true })
		if err := doc.GenMarkdownTreeCustom(cmd, dir, func(string) string { return "" }, func(name string) string { return name }); err != nil {
			return err
		}
	}
	return writeIndex(dir)
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

func writeIndex(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Command reference\n\nGenerated from the commands themselves by `go run ./hack/gendocs`.\n\n")
	for _, e := range entries {
		if e.Name() == "README.md" || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		name := strings.ReplaceAll(strings.TrimSuffix(e.Name(), ".md"), "_", " ")
		b.WriteString("- [" + strings.Replace(name, "kubectl-", "kubectl ", 1) + "](" + e.Name() + ")\n")
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(b.String()), 0o644)
}
