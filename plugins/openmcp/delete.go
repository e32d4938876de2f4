package openmcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/kubefedtypes"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/manifest"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// DeleteOptions are the options of `kubectl openmcp delete`.
type DeleteOptions struct {
	root           *cli.Root
	cmd            *cobra.Command
	Filenames      []string
	Recursive      bool
	Federation     string
	Wait           bool
	Timeout        time.Duration
	IgnoreNotFound bool
	Output         string
	DryRun         cmdutil.DryRunStrategy

	timeoutSet       bool
	namespace        string
	enforceNamespace bool
	fleet            *fleet.Fleet
	hostc            *fleet.Clients
	// pollInterval is how often --wait looks; tests shorten it.
	pollInterval time.Duration
	genericiooptions.IOStreams
}

// defaultDeleteTimeout bounds --wait when --timeout is not given.
const defaultDeleteTimeout = 2 * time.Minute

// NewCmdDelete is `kubectl openmcp delete`.
func NewCmdDelete(root *cli.Root) *cobra.Command {
	o := &DeleteOptions{root: root, IOStreams: root.Streams, Federation: federationOpenMCP, Timeout: defaultDeleteTimeout, pollInterval: 500 * time.Millisecond}
	cmd := &cobra.Command{
		Use:   "delete -f FILENAME [--federation openmcp|kubefed] [--wait [--timeout 2m]]",
		Short: "Delete from the federation what place wrote from the same manifests",
		Long: `Delete from the host exactly the objects that 'kubectl openmcp place' wrote from
the same manifest files, as kubectl delete -f does.

The documents are read and converted as place converts them, so a plain
Deployment names its OpenMCPDeployment (or, with --federation kubefed, its
FederatedDeployment); OpenMCP objects are taken as they are. A FederatedNamespace
that place made for the objects' namespace is left alone: it is deleted only
when the manifests hold the Namespace itself.

Every object is looked up before the first delete: when one is not on the host,
each missing one is reported and nothing is deleted (exit 1), unless
--ignore-not-found skips them. Each object is deleted on its own (a delete is
atomic per object) with propagation policy Background: OpenMCP's controllers
remove the member copies once the host object is gone, and KubeFed's finalizer
removes them before the host object goes; the host's garbage collector has
nothing of theirs to wait for. Ctrl-C stops between two deletes and says what
was deleted (exit 130).

--wait then waits, up to --timeout, until the host objects are gone and no
joined member runs their copies any more (members' Deployments and Services
of the same name and namespace for OpenMCP objects, the objects KubeFed
propagated for Federated<Kind> objects), printing which member still has what.`,
		Example: `  # Delete what 'place -f nginx.yaml' wrote
  kubectl openmcp delete -f nginx.yaml

  # The same for KubeFed placement, and wait until no member runs it any more
  kubectl openmcp delete -f nginx.yaml --federation kubefed --wait --timeout 3m

  # Show what would be deleted; skip what is not there
  kubectl openmcp delete -f manifests/ -R --dry-run=client --ignore-not-found

  # From standard input, printing only the deleted objects' names
  cat nginx.yaml | kubectl openmcp delete -f - -o name`,
		Args: cli.NoArgs(),
		RunE: cli.Run(o),
	}
	f := cmd.Flags()
	addManifestFlags(cmd, &o.Filenames, &o.Recursive)
	f.StringVar(&o.Federation, "federation", federationOpenMCP, "What place wrote: openmcp (OpenMCP kinds) or kubefed (KubeFed Federated<Kind> objects)")
	f.BoolVar(&o.Wait, "wait", false, "Wait until the host objects are gone and no member runs their copies any more")
	f.DurationVar(&o.Timeout, "timeout", defaultDeleteTimeout, "How long --wait waits")
	f.BoolVar(&o.IgnoreNotFound, "ignore-not-found", false, "Skip objects that are not on the host instead of failing")
	f.StringVarP(&o.Output, "output", "o", "", "Output format: name (only the deleted objects' names)")
	_ = cmd.RegisterFlagCompletionFunc("federation", cobra.FixedCompletions([]string{federationOpenMCP, federationKubeFed}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"name"}, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete reads the flags and finds the host.
func (o *DeleteOptions) Complete(cmd *cobra.Command, _ []string) error {
	var err error
	if o.DryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	o.timeoutSet = cli.FlagSetHas(cmd.Flags(), "timeout")
	o.cmd = cmd
	return nil
}

// open finds the host once the flags are known to be good (a bad value is
// reported even without a host); tests hand in a fleet of their own.
func (o *DeleteOptions) open() error {
	if o.fleet != nil {
		return nil
	}
	var err error
	if o.fleet, o.hostc, err = openFleet(o.root, o.cmd, nil); err != nil {
		return err
	}
	if ns := o.root.ConfigFlags.Namespace; ns != nil && *ns != "" {
		o.namespace, o.enforceNamespace = *ns, true
	} else if o.namespace, _, err = o.fleet.Kubeconfig.For(o.fleet.Host.Context).ToRawKubeConfigLoader().Namespace(); err != nil {
		return err
	}
	return nil
}

// Validate checks the flags.
func (o *DeleteOptions) Validate() error {
	if len(o.Filenames) == 0 {
		return cli.Usagef("no manifests given: pass -f FILE, -f DIR or -f -")
	}
	if o.Federation != federationOpenMCP && o.Federation != federationKubeFed {
		return cli.Usagef("invalid --federation %q: allowed values are openmcp, kubefed", o.Federation)
	}
	if o.Output != "" && o.Output != "name" {
		return cli.Usagef("invalid --output %q: delete prints only names: the allowed value is name", o.Output)
	}
	if o.Timeout <= 0 {
		return cli.Usagef("invalid --timeout %s: must be more than 0 (it bounds --wait)", o.Timeout)
	}
	if o.timeoutSet && !o.Wait {
		return cli.Usagef("--timeout %s bounds --wait: add --wait", o.Timeout)
	}
	if o.Wait && o.DryRun != cmdutil.DryRunNone {
		return cli.Usagef("--wait with --dry-run: a dry run deletes nothing to wait for")
	}
	return nil
}

// deleteTarget is one host object to delete and what stands for it in the
// members.
type deleteTarget struct {
	openmcpapi.Item
	// Member is the object the federation runs in each member for it; its
	// GVR is empty when we know of none (an OpenMCPPolicy, ...).
	Member objectRef
}

// objectRef names one object of one resource.
type objectRef struct {
	GVR       schema.GroupVersionResource
	Namespace string
	Name      string
}

// String names it as kubectl's resource/name: deployments.apps/nginx.
func (r objectRef) String() string {
	res := r.GVR.Resource
	if r.GVR.Group != "" {
		res += "." + r.GVR.Group
	}
	if r.Namespace == "" {
		return res + "/" + r.Name
	}
	return res + "/" + r.Namespace + "/" + r.Name
}

// openMCPMemberResource is what OpenMCP's controllers write into the members
// for an OpenMCP kind, as their source shows (the deployment and service
// controllers create a Deployment and a Service of the same name and
// namespace). Other kinds' controllers are not known to this project: for
// them --wait looks at the host only.
func openMCPMemberResource(kind string) (schema.GroupVersionResource, bool) {
	switch kind {
	case "OpenMCPDeployment":
		return schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true
	case "OpenMCPService":
		return schema.GroupVersionResource{Version: "v1", Resource: "services"}, true
	}
	return schema.GroupVersionResource{}, false
}

// Run reads, converts, checks that everything is there, deletes, and waits.
func (o *DeleteOptions) Run(ctx context.Context) error {
	if err := o.open(); err != nil {
		return err
	}
	docs, err := manifest.ReadManifests(o.Filenames, o.Recursive, o.In)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return fmt.Errorf("no objects in %s", strings.Join(o.Filenames, ", "))
	}
	opts := manifest.Options{Namespace: o.namespace, EnforceNamespace: o.enforceNamespace}
	// The conversion's warnings are about what place writes (a stale layout
	// fixed, a version KubeFed changes): nothing of it is written here.
	targets, missing, _, err := o.targets(ctx, docs, opts)
	if err != nil {
		return err
	}

	// Everything is looked up before anything is deleted, as join checks
	// before it writes: a wrong file must not delete half of itself.
	present, notFound, failed := o.lookUp(ctx, targets)
	if ctx.Err() != nil {
		return cli.Interruptedf("delete stopped before the first delete: nothing was deleted")
	}
	missing = append(missing, notFound...)
	if len(failed) > 0 || (len(missing) > 0 && !o.IgnoreNotFound) {
		for _, line := range append(missing, failed...) {
			fmt.Fprintln(o.ErrOut, line)
		}
		if len(failed) > 0 {
			return fmt.Errorf("nothing was deleted: %d of %d objects could not be read", len(failed), len(targets))
		}
		return fmt.Errorf("nothing was deleted: %d of %d objects not found (--ignore-not-found skips them)", len(missing), len(targets)+len(missing)-len(notFound))
	}

	deleted, err := o.deleteAll(ctx, present)
	if err != nil {
		return err
	}
	if !o.Wait || len(deleted) == 0 {
		return nil
	}
	return o.wait(ctx, deleted)
}

// targets converts the documents as place does and returns the host objects
// it wrote for them. Kinds KubeFed does not federate cannot be on the host:
// they come back as missing.
func (o *DeleteOptions) targets(ctx context.Context, docs []manifest.Document, opts manifest.Options) ([]deleteTarget, []string, []string, error) {
	if o.Federation == federationOpenMCP {
		items, warnings, err := openMCPItems(docs, opts)
		if err != nil {
			return nil, nil, warnings, err
		}
		out := make([]deleteTarget, len(items))
		for i, it := range items {
			out[i] = deleteTarget{Item: it}
			if gvr, ok := openMCPMemberResource(it.Object.GetKind()); ok {
				out[i].Member = objectRef{GVR: gvr, Namespace: it.Object.GetNamespace(), Name: it.Object.GetName()}
			}
		}
		return out, nil, warnings, nil
	}
	// Placement does not change which objects place wrote, only their spec.
	noPlacement := func(manifest.Placement) kubefedtypes.Placement { return kubefedtypes.Placement{} }
	fc, err := federatedObjects(ctx, o.fleet, o.hostc, docs, opts, noPlacement, nil)
	var missing []string
	if err != nil {
		var other []error
		for _, e := range splitJoined(err) {
			var nt *noTypeConfigError
			if errors.As(e, &nt) {
				missing = append(missing, fmt.Sprintf("%s %s: %s %s is not federated: KubeFed has no FederatedTypeConfig for %s in %s",
					cli.Bad("error:"), nt.where, nt.gk.Kind, nt.name, qualifiedKind(nt.gk), nt.hostNamespace))
				continue
			}
			other = append(other, e)
		}
		if len(other) > 0 {
			return nil, nil, fc.warnings, errors.Join(other...)
		}
	}
	var out, namespaces []deleteTarget
	for _, it := range fc.items {
		t := deleteTarget{Item: it.Item, Member: objectRef{GVR: it.Target, Namespace: it.Plain.GetNamespace(), Name: it.Plain.GetName()}}
		if it.Target.Group == "" && it.Target.Resource == "namespaces" {
			// Its objects first: a namespace the user named goes last, as
			// it takes everything in it on the members with it.
			t.Member.Namespace = ""
			namespaces = append(namespaces, t)
			continue
		}
		out = append(out, t)
	}
	return append(out, namespaces...), missing, fc.warnings, nil
}

// splitJoined undoes errors.Join.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// found is a target that is on the host, with the UID it has there.
type found struct {
	deleteTarget
	UID types.UID
}

// lookUp reads every target on the host: the ones there, and a kubectl-style
// line for each that is not or could not be read.
func (o *DeleteOptions) lookUp(ctx context.Context, targets []deleteTarget) (present []found, missing, failed []string) {
	for _, t := range targets {
		live, err := o.hostc.Dynamic.Resource(t.GVR).Namespace(t.Object.GetNamespace()).Get(ctx, t.Object.GetName(), metav1.GetOptions{})
		switch {
		case err == nil:
			present = append(present, found{deleteTarget: t, UID: live.GetUID()})
		case apierrors.IsNotFound(err):
			// Also the answer when the host does not serve the resource at
			// all; kubectl's own words fit both.
			missing = append(missing, notFoundLine(t))
		default:
			failed = append(failed, serverErrorLine(t, err))
		}
		if ctx.Err() != nil {
			return present, missing, failed
		}
	}
	return present, missing, failed
}

// notFoundLine is kubectl delete's line for a missing object.
func notFoundLine(t deleteTarget) string {
	err := apierrors.NewNotFound(t.GVR.GroupResource(), t.Object.GetName())
	msg, _ := cmdutil.StandardErrorMessage(err)
	return msg
}

// serverErrorLine reports a failed request in kubectl's words; the server's
// message is the server's and is cleaned before it reaches the terminal.
func serverErrorLine(t deleteTarget, err error) string {
	msg, ok := cmdutil.StandardErrorMessage(err)
	if !ok {
		msg = fmt.Sprintf("error: %s: %v", refOf(t), err)
	}
	return serverText(msg)
}

// serverText keeps what a cluster said to one printable line.
func serverText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// refOf names a host object as kubectl delete prints it:
// openmcpdeployment.openmcp.k8s.io "nginx".
func refOf(t deleteTarget) string {
	gvk := t.Object.GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return fmt.Sprintf("%s %q", kind, t.Object.GetName())
}

// deleteAll deletes the objects one by one, in order. A delete already sent
// is seen through at Ctrl-C (the server either deleted the object or did
// not, and the answer says which); the next one is not sent.
func (o *DeleteOptions) deleteAll(ctx context.Context, objs []found) ([]found, error) {
	suffix := ""
	switch o.DryRun {
	case cmdutil.DryRunClient:
		suffix = " (dry run)"
	case cmdutil.DryRunServer:
		suffix = " (server dry run)"
	}
	var deleted []found
	failed := 0
	for i, f := range objs {
		if ctx.Err() != nil {
			return deleted, cli.Interruptedf("%s", interruptedSummary(deleted, objs[i:], o.DryRun != cmdutil.DryRunNone))
		}
		if o.DryRun != cmdutil.DryRunClient {
			uid := f.UID
			// Background: see the command's help. The UID makes sure the
			// object deleted is the one looked up, not one made since.
			policy := metav1.DeletePropagationBackground
			opts := metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: &uid}}
			if o.DryRun == cmdutil.DryRunServer {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			err := o.hostc.Dynamic.Resource(f.GVR).Namespace(f.Object.GetNamespace()).Delete(context.WithoutCancel(ctx), f.Object.GetName(), opts)
			switch {
			case err == nil:
			case apierrors.IsNotFound(err) && o.IgnoreNotFound:
				continue // gone since it was looked up
			default:
				fmt.Fprintln(o.ErrOut, serverErrorLine(f.deleteTarget, err))
				failed++
				continue
			}
		}
		deleted = append(deleted, f)
		if o.Output == "name" {
			fmt.Fprintln(o.Out, openmcpapi.Ref(f.Object))
		} else {
			fmt.Fprintf(o.Out, "%s deleted%s\n", refOf(f.deleteTarget), suffix)
		}
	}
	if failed > 0 {
		return deleted, &cli.SilentError{Code: cli.ExitError}
	}
	return deleted, nil
}

// interruptedSummary says what an interrupted delete did and did not do.
func interruptedSummary(deleted, left []found, dryRun bool) string {
	names := func(fs []found) string {
		if len(fs) == 0 {
			return "none"
		}
		s := make([]string, len(fs))
		for i, f := range fs {
			s[i] = openmcpapi.Ref(f.Object)
		}
		return strings.Join(s, ", ")
	}
	verb := "deleted"
	if dryRun {
		verb = "deleted (dry run)"
	}
	return fmt.Sprintf("delete stopped: %s: %s; not deleted: %s", verb, names(deleted), names(left))
}

// wait waits for the deleted objects to be gone from the host and their
// copies from every joined member.
func (o *DeleteOptions) wait(ctx context.Context, deleted []found) error {
	hostRefs := make([]objectRef, 0, len(deleted))
	var memberRefs []objectRef
	for _, f := range deleted {
		hostRefs = append(hostRefs, objectRef{GVR: f.GVR, Namespace: f.Object.GetNamespace(), Name: f.Object.GetName()})
		if !f.Member.GVR.Empty() {
			memberRefs = append(memberRefs, f.Member)
		}
	}
	clusters := []waitCluster{{Name: "host", Dynamic: o.hostc.Dynamic, Refs: hostRefs}}
	if len(memberRefs) > 0 {
		members, err := o.fleet.Members(ctx)
		if err != nil {
			return fmt.Errorf("deleted, but cannot wait for the members: %w", err)
		}
		mc, warnings := memberWaitClusters(members, func(m fleet.Member) (dynamic.Interface, error) {
			c, err := o.fleet.Reach(ctx, m)
			if err != nil {
				return nil, err
			}
			return c.Dynamic()
		}, memberRefs)
		for _, w := range warnings {
			cli.Warnf(o.ErrOut, "%s", w)
		}
		clusters = append(clusters, mc...)
	}
	return waitGone(ctx, o.ErrOut, clusters, o.Timeout, o.pollInterval)
}

// waitCluster is one cluster --wait looks at and the objects that must be
// gone from it.
type waitCluster struct {
	Name    string
	Dynamic dynamic.Interface
	Refs    []objectRef
}

// memberWaitClusters pairs every joined member with the objects that must be
// gone from it: all of refs, as the federation (OpenMCP's controllers or
// KubeFed) may have placed them anywhere. A member the kubeconfig has no
// context for cannot be looked at: it comes back as a warning.
func memberWaitClusters(members []fleet.Member, connect func(fleet.Member) (dynamic.Interface, error), refs []objectRef) ([]waitCluster, []string) {
	var out []waitCluster
	var warnings []string
	for _, m := range members {
		if m.Context == "" {
			warnings = append(warnings, fmt.Sprintf("cluster %s has no context in your kubeconfig: not checked by --wait", m.Name))
			continue
		}
		dyn, err := connect(m)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("cluster %s: not checked by --wait: %v", m.Name, err))
			continue
		}
		out = append(out, waitCluster{Name: m.Name, Dynamic: dyn, Refs: refs})
	}
	return out, warnings
}

// waitGone polls every cluster until none of its objects exists, up to
// timeout. It prints each cluster's state when it changes: what it still
// has, "none left", or why it could not be asked.
func waitGone(ctx context.Context, w io.Writer, clusters []waitCluster, timeout, interval time.Duration) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = c.Name
	}
	fmt.Fprintf(w, "waiting up to %s for the objects to be gone from %s...\n", timeout, strings.Join(names, ", "))
	last := map[string]string{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		pending := map[string]string{}
		for _, c := range clusters {
			if last[c.Name] == "none left" {
				continue // a deleted object does not come back
			}
			state := clusterState(ctx, c)
			if ctx.Err() != nil {
				break // the answer is the deadline's, not the cluster's
			}
			if state != last[c.Name] {
				fmt.Fprintf(w, "  %s: %s\n", c.Name, state)
				last[c.Name] = state
			}
			if state != "none left" {
				pending[c.Name] = state
			}
		}
		if ctx.Err() == nil && len(pending) == 0 {
			fmt.Fprintf(w, "gone from %s (%s)\n", strings.Join(names, ", "), time.Since(start).Round(100*time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			still := make([]string, 0, len(clusters))
			for _, c := range clusters {
				if s := last[c.Name]; s != "none left" {
					if s == "" {
						s = "not checked yet"
					}
					still = append(still, c.Name+": "+s)
				}
			}
			sort.Strings(still)
			if errors.Is(ctx.Err(), context.Canceled) {
				return cli.Interruptedf("deleted, but stopped waiting; still there: %s", strings.Join(still, "; "))
			}
			return fmt.Errorf("deleted, but not gone within %s: %s", timeout, strings.Join(still, "; "))
		case <-tick.C:
		}
	}
}

// clusterState is what of c's objects still exists, as one line.
func clusterState(ctx context.Context, c waitCluster) string {
	var left []string
	for _, r := range c.Refs {
		_, err := c.Dynamic.Resource(r.GVR).Namespace(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		switch {
		case err == nil:
			left = append(left, r.String())
		case apierrors.IsNotFound(err):
		default:
			return "cannot check: " + serverText(err.Error())
		}
	}
	if len(left) == 0 {
		return "none left"
	}
	return strings.Join(left, ", ")
}
