package mcks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/kubeconfig"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

const kubeconfigExample = `  # Add cluster c1 to your kubeconfig as context c1
  kubectl mcks kubeconfig c1 --merge

  # Under another context name, replacing an older one of that name
  kubectl mcks kubeconfig c1 --context-name seoul-lab --merge --overwrite

  # Into a file of its own (mode 0600)
  kubectl mcks kubeconfig c1 --file ./c1.kubeconfig

  # See what --merge would write, keys redacted, and write nothing
  kubectl mcks kubeconfig c1 --merge --dry-run -o yaml

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
	dryRun      bool
	output      string
	allowUnsafe bool

	client *mcks.Client
}

// NewCmdKubeconfig builds `kubectl mcks kubeconfig`.
func NewCmdKubeconfig(root *cli.Root) *cobra.Command {
	o := &KubeconfigOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME [--context-name NAME] (--merge | --file PATH | --raw) [--dry-run] [-o yaml|json] [--allow-unsafe-fields]",
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
printed with its keys redacted, as kubectl config view does; --raw prints them.
--dry-run shows, keys redacted, what --merge or --file would write and writes
nothing.

The kubeconfig comes from the MCKS API and is not trusted: --merge, --file and
--raw accept only inline data (server, which must be https,
certificate-authority-data, client-certificate-data, client-key-data, token).
Any other field is refused by name, since once kubectl uses the context it
would act on your machine or weaken TLS: exec and auth-provider run commands;
certificate-authority, client-certificate, client-key and tokenFile read your
files; proxy-url sends the admin key through another host;
insecure-skip-tls-verify and tls-server-name change which certificate is
trusted; as/as-groups impersonate. MCKS itself writes none of them: a server
that does is spoofed, compromised, or not MCKS. Look at them with --dry-run -o
yaml first; --allow-unsafe-fields then writes them. The redacted print (no
--merge, --file or --raw) only shows them, with a warning.

The kubeconfig holds the cluster's admin key: a warning says so when the MCKS
server is reached over plain HTTP on an address other than loopback.`,
		Example: kubeconfigExample,
		Args:    cli.ExactArgs(1),
		RunE:    cli.Run(o),
	}
	o.api = addAPIFlags(cmd, root)
	f := cmd.Flags()
	f.StringVar(&o.contextName, "context-name", "", "Name of the context and cluster entries (default: the cluster's name)")
	f.BoolVar(&o.merge, "merge", false, "Merge into your kubeconfig")
	f.StringVar(&o.file, "file", "", "Write a kubeconfig of its own to this path")
	f.BoolVar(&o.overwrite, "overwrite", false, "Replace entries (or the --file) of the same name")
	f.BoolVar(&o.raw, "raw", false, "Print the keys instead of redacting them")
	f.BoolVar(&o.dryRun, "dry-run", false, "Print what --merge or --file would write, keys redacted, and write nothing")
	f.StringVarP(&o.output, "output", "o", "yaml", "Format of the printed kubeconfig: yaml or json")
	f.BoolVar(&o.allowUnsafe, "allow-unsafe-fields", false, "Write fields beyond inline data (exec, auth-provider, file paths, proxy-url, insecure-skip-tls-verify, ...) and a non-https server, which the MCKS API's kubeconfig is refused for by default: check them with --dry-run -o yaml first")
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
	if o.raw && o.dryRun {
		return cli.Usagef("--dry-run shows what --merge or --file would write, keys redacted; it does not go with --raw")
	}
	if o.output != "yaml" && o.output != "json" {
		return cli.Usagef("invalid --output %q: want yaml or json", o.output)
	}
	if strings.TrimSpace(o.contextName) == "" || strings.ContainsFunc(o.contextName, func(r rune) bool { return r <= ' ' }) {
		return cli.Usagef("invalid --context-name %q: want a name without spaces", o.contextName)
	}
	return nil
}

// Run fetches, renames and writes or prints the kubeconfig.
func (o *KubeconfigOptions) Run(ctx context.Context) error {
	warnPlainHTTP(o.streams.ErrOut, o.client.Server())
	c, err := o.client.GetCluster(ctx, o.name)
	if err != nil {
		return notFoundError("cluster", o.name, o.client, err)
	}
	if c.ClusterConfig == "" && c.Status.Phase == mcks.PhaseFailed {
		return fmt.Errorf("cluster %q has no kubeconfig: its provisioning failed (%s: %s)", o.name, orNone(mcks.Clean(c.Status.Reason)), orNone(mcks.Clean(c.Status.Message)))
	}
	if c.ClusterConfig == "" {
		return fmt.Errorf("cluster %q has no kubeconfig yet (phase %s): MCKS writes it when provisioning ends", o.name, orNone(c.Status.Phase))
	}
	cfg, err := kubeconfig.Rename([]byte(c.ClusterConfig), o.contextName)
	if err != nil {
		return fmt.Errorf("cluster %q: %w", o.name, err)
	}
	unsafe := kubeconfig.UnsafeFields(cfg)
	writes := o.merge || o.file != "" || o.raw
	switch {
	case len(unsafe) == 0:
	case o.dryRun || !writes:
		cli.Warnf(o.streams.ErrOut, "the kubeconfig of MCKS cluster %q sets %s: --merge, --file and --raw refuse it without --allow-unsafe-fields", o.name, strings.Join(unsafe, ", "))
	case !o.allowUnsafe:
		return &kubeconfig.UnsafeError{Cluster: o.name, Fields: unsafe}
	default:
		cli.Warnf(o.streams.ErrOut, "writing what the kubeconfig of MCKS cluster %q sets beyond inline data, as --allow-unsafe-fields asks: %s", o.name, strings.Join(unsafe, ", "))
	}
	if o.dryRun && (o.merge || o.file != "") {
		target := o.file
		if o.merge {
			target = kubeconfig.TargetFile(*o.root.ConfigFlags.KubeConfig, o.contextOrigin())
		}
		if err := o.print(cfg, false); err != nil {
			return err
		}
		fmt.Fprintf(o.streams.ErrOut, "dry run: context %q would be written to %s; nothing was written\n", o.contextName, target)
		return nil
	}
	switch {
	case o.merge:
		path := kubeconfig.TargetFile(*o.root.ConfigFlags.KubeConfig, o.contextOrigin())
		res, err := kubeconfig.Merge(path, cfg, o.overwrite)
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
		if err := kubeconfig.WriteFile(o.file, cfg, o.overwrite); err != nil {
			return err
		}
		termsafe.Fprintf(o.streams.Out, "kubeconfig of cluster %q written to %s\n", o.name, o.file)
		return nil
	}
	return o.print(cfg, o.raw)
}

// print writes cfg in the -o format, its keys redacted unless raw.
func (o *KubeconfigOptions) print(cfg *clientcmdapi.Config, raw bool) error {
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	if !raw {
		data = []byte(mcks.RedactKubeconfig(data))
	}
	if o.output == "json" {
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, j, "", "    "); err != nil {
			return err
		}
		data = append(buf.Bytes(), '\n')
	}
	_, err = o.streams.Out.Write(data)
	return err
}

// warnPlainHTTP says when the admin kubeconfig is about to cross a network
// in clear text: http:// to an address other than loopback.
func warnPlainHTTP(w io.Writer, server string) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "http" {
		return
	}
	host := strings.ToLower(u.Hostname())
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return
	}
	cli.Warnf(w, "the MCKS server %s is reached over plain HTTP: the kubeconfig, with the cluster's admin key, crosses the network unencrypted", u.Host)
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
