package mcks

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mckskubeconfig"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

const kubeconfigExample = `  # Add cluster c1 to your kubeconfig as context c1
  kubectl mcks kubeconfig c1 --merge

  # Under another context name, replacing an older one of that name
  kubectl mcks kubeconfig c1 --context-name seoul-lab --merge --overwrite

  # Into a file of its own (mode 0600)
  kubectl mcks kubeconfig c1 --file ./c1.kubeconfig

  # Then federate it
  kubectl openmcp join c1`

// KubeconfigOptions are the options of `kubectl mcks kubeconfig`.
type KubeconfigOptions struct {
	root        *cli.Root
	api         *apiFlags
	streams     genericiooptions.IOStreams
	name        string
	contextName string
	merge       bool
	file        string
	overwrite   bool
	raw         bool

	client *mcks.Client
}

// NewCmdKubeconfig builds `kubectl mcks kubeconfig`.
func NewCmdKubeconfig(root *cli.Root) *cobra.Command {
	o := &KubeconfigOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME [--context-name NAME] (--merge | --file PATH | --raw)",
		Short: "Get an MCKS cluster's kubeconfig, renamed, merged into yours",
		Long: `Get the admin kubeconfig MCKS keeps for a cluster. MCKS names the cluster,
user and context of every cluster alike (kubernetes, kubernetes-admin,
kubernetes-admin@kubernetes); they are renamed after the cluster: context and
cluster NAME (or --context-name), user NAME-admin.

--merge adds them to your kubeconfig (--kubeconfig, else $KUBECONFIG, else
~/.kube/config) under kubectl's lock, replacing the file atomically with mode
0600. An existing context, cluster or user of the same name is never replaced
unless --overwrite. The current context is left as it is.

--file writes a kubeconfig of its own. Without either, the kubeconfig is
printed with its keys redacted, as kubectl config view does; --raw prints them.`,
		Example: kubeconfigExample,
		Args:    cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.api = addAPIFlags(cmd, root)
	f := cmd.Flags()
	f.StringVar(&o.contextName, "context-name", "", "Name of the context and cluster entries (default: the cluster's name)")
	f.BoolVar(&o.merge, "merge", false, "Merge into your kubeconfig")
	f.StringVar(&o.file, "file", "", "Write a kubeconfig of its own to this path")
	f.BoolVar(&o.overwrite, "overwrite", false, "Replace entries (or the --file) of the same name")
	f.BoolVar(&o.raw, "raw", false, "Print the keys instead of redacting them")
	return cmd
}

// Complete reads the name and builds the client.
func (o *KubeconfigOptions) Complete(cmd *cobra.Command, args []string) error {
	o.name = args[0]
	if o.contextName == "" {
		o.contextName = o.name
	}
	var err error
	o.client, err = o.api.client(cmd)
	return err
}

// Validate checks the flag combination.
func (o *KubeconfigOptions) Validate() error {
	if o.merge && o.file != "" {
		return cli.Usagef("--merge and --file exclude each other")
	}
	if o.raw && (o.merge || o.file != "") {
		return cli.Usagef("--raw is for printing; --merge and --file always write the keys")
	}
	if strings.TrimSpace(o.contextName) == "" || strings.ContainsFunc(o.contextName, func(r rune) bool { return r <= ' ' }) {
		return cli.Usagef("invalid --context-name %q: want a name without spaces", o.contextName)
	}
	return nil
}

// Run fetches, renames and writes or prints the kubeconfig.
func (o *KubeconfigOptions) Run(ctx context.Context) error {
	c, err := o.client.GetCluster(ctx, o.name)
	if err != nil {
		return notFoundError("cluster", o.name, o.client, err)
	}
	if c.ClusterConfig == "" {
		return fmt.Errorf("cluster %q has no kubeconfig yet (phase %s): MCKS writes it when provisioning ends", o.name, orNone(c.Status.Phase))
	}
	cfg, err := mckskubeconfig.Rename([]byte(c.ClusterConfig), o.contextName)
	if err != nil {
		return fmt.Errorf("cluster %q: %w", o.name, err)
	}
	switch {
	case o.merge:
		path := mckskubeconfig.TargetFile(*o.root.ConfigFlags.KubeConfig, o.contextOrigin())
		res, err := mckskubeconfig.Merge(path, cfg, o.overwrite)
		if err != nil {
			return err
		}
		verb := "added to"
		if len(res.Replaced) > 0 {
			verb = "replaced in"
		}
		termsafe.Fprintf(o.streams.Out, "context %q %s %s\n", o.contextName, verb, res.Path)
		termsafe.Fprintf(o.streams.ErrOut, "Use it with: kubectl --context %s get nodes; federate it with: kubectl openmcp join %s\n", o.contextName, o.contextName)
		return nil
	case o.file != "":
		if err := mckskubeconfig.WriteFile(o.file, cfg, o.overwrite); err != nil {
			return err
		}
		termsafe.Fprintf(o.streams.Out, "kubeconfig of cluster %q written to %s\n", o.name, o.file)
		return nil
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	if o.raw {
		_, err = o.streams.Out.Write(data)
		return err
	}
	_, err = fmt.Fprint(o.streams.Out, mcks.RedactKubeconfig(data))
	return err
}

// contextOrigin is the kubeconfig file that already holds the context, so an
// --overwrite replaces it where kubectl reads it from.
func (o *KubeconfigOptions) contextOrigin() string {
	raw, err := o.root.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	if ctx := raw.Contexts[o.contextName]; ctx != nil {
		return ctx.LocationOfOrigin
	}
	return ""
}
