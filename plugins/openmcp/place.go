package openmcp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	fedv1b1 "sigs.k8s.io/kubefed/pkg/apis/core/v1beta1"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/federation"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/kubefedtypes"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/manifest"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/topology"
)

// Federation modes of place.
const (
	federationOpenMCP = "openmcp"
	federationKubeFed = "kubefed"
)

// PlaceOptions are the options of `kubectl openmcp place`.
type PlaceOptions struct {
	root           *cli.Root
	Filenames      []string
	Recursive      bool
	Clusters       []string
	Regions        []string
	Zones          []string
	Replicas       int32
	Federation     string
	ForceConflicts bool
	DryRun         cmdutil.DryRunStrategy
	PrintFlags     *genericclioptions.PrintFlags

	replicasSet      bool
	namespace        string
	enforceNamespace bool
	fleet            *fleet.Fleet
	hostc            *fleet.Clients
	printer          printers.ResourcePrinter
	genericiooptions.IOStreams
}

// NewCmdPlace is `kubectl openmcp place`.
func NewCmdPlace(root *cli.Root) *cobra.Command {
	o := &PlaceOptions{root: root, IOStreams: root.Streams, Federation: federationOpenMCP, PrintFlags: genericclioptions.NewPrintFlags("placed").WithTypeSetter(nil)}
	cmd := &cobra.Command{
		Use:   "place -f FILENAME [--clusters c1,c2] [--region AS] [--zone KR] [--replicas N]",
		Short: "Place OpenMCP resources, or plain Kubernetes manifests, on the federation",
		Long: `Place resources on the federation from manifest files, as kubectl apply does.

OpenMCP kinds (openmcp.k8s.io/v1alpha1) are checked against OpenMCP's API types
and written to the host. Plain kinds are converted first:

  Deployment               -> OpenMCPDeployment (replicas, labels, template)
  Service                  -> OpenMCPService
  Ingress                  -> OpenMCPIngress (backends as OpenMCP's controller reads them)
  HorizontalPodAutoscaler  -> OpenMCPHybridAutoScaler (target: the OpenMCPDeployment)
  ConfigMap, Secret        -> OpenMCPConfigMap, OpenMCPSecret

OpenMCP's published HAS sample uses a stale layout (spec.hpaTemplate,
spec.vpaMode); it is rewritten to spec.scalingOptions.hpaTemplate and
.vpaTemplate with a warning.

--clusters, --region/--zone and --replicas fill an OpenMCPDeployment's
spec.clusters, spec.affinity and spec.replicas (the federation-wide total).

--federation kubefed writes KubeFed's own Federated<Kind> objects instead, for a
federation without OpenMCP's controllers: spec.template is the object,
spec.placement comes from --clusters (or a clusterSelector on the KubeFedClusters'
region/zone labels; every member by default), and --replicas is spread over
the selected members with per-cluster overrides. The kind must be enabled
first with 'kubectl openmcp enable TYPE'.

Every document is read and checked, then every object is sent as a server
dry run, before the first write: one bad document means nothing is written,
and the error names the file, the document (counted from 1) and the field.
Objects are written with server-side apply (field manager kubectl-openmcp);
each is reported created, configured or unchanged. Secret data is never
printed.`,
		Example: `  # Place the OpenMCP guide's samples
  kubectl openmcp place -f sample/ -R

  # Place a plain Deployment and Service on two clusters, 6 replicas in total
  kubectl openmcp place -f nginx.yaml --clusters cluster1,cluster2 --replicas 6

  # Schedule by region and zone, and show the result without writing it
  kubectl openmcp place -f nginx.yaml --region AS --zone KR --dry-run=client -o yaml

  # Without OpenMCP: KubeFed FederatedDeployment and FederatedService
  kubectl openmcp enable deployments && kubectl openmcp enable services
  kubectl openmcp place -f nginx.yaml --federation kubefed

  # From standard input
  kubectl create deployment web --image nginx --dry-run=client -o yaml | kubectl openmcp place -f -

  # Remove what place wrote from the same file
  kubectl openmcp delete -f nginx.yaml`,
		Args: cli.NoArgs(),
		RunE: cli.Run(o),
	}
	f := cmd.Flags()
	addManifestFlags(cmd, &o.Filenames, &o.Recursive)
	f.StringSliceVar(&o.Clusters, "clusters", nil, "Member clusters to place on (comma-separated)")
	f.StringSliceVar(&o.Regions, "region", nil, "Region(s) to place in: continent codes "+strings.Join(topology.Regions(), ", "))
	f.StringSliceVar(&o.Zones, "zone", nil, "Zone(s) to place in: ISO 3166-1 alpha-2 country codes such as KR")
	f.Int32Var(&o.Replicas, "replicas", 0, "Total replicas over the federation (OpenMCPDeployment spec.replicas)")
	f.StringVar(&o.Federation, "federation", federationOpenMCP, "What to write: openmcp (OpenMCP kinds, for OpenMCP's controllers) or kubefed (KubeFed Federated<Kind> objects)")
	f.BoolVar(&o.ForceConflicts, "force-conflicts", false, "Take over fields another field manager owns")
	_ = cmd.RegisterFlagCompletionFunc("federation", cobra.FixedCompletions([]string{federationOpenMCP, federationKubeFed}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("region", cobra.FixedCompletions(topology.Regions(), cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddDryRunFlag(cmd)
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete reads the flags and finds the host.
func (o *PlaceOptions) Complete(cmd *cobra.Command, _ []string) error {
	root := o.root
	var err error
	if o.DryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	o.replicasSet = cli.FlagSetHas(cmd.Flags(), "replicas")
	if format := outputFormat(o.PrintFlags); format != "" {
		if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	if o.fleet, o.hostc, err = openFleet(root, cmd, nil); err != nil {
		return err
	}
	if ns := root.ConfigFlags.Namespace; ns != nil && *ns != "" {
		o.namespace, o.enforceNamespace = *ns, true
	} else if o.namespace, _, err = o.fleet.Kubeconfig.For(o.fleet.Host.Context).ToRawKubeConfigLoader().Namespace(); err != nil {
		return err
	}
	return nil
}

// Validate checks the flags; the documents are checked by Run, before any write.
func (o *PlaceOptions) Validate() error {
	if len(o.Filenames) == 0 {
		return cli.Usagef("no manifests given: pass -f FILE, -f DIR or -f -")
	}
	if o.Federation != federationOpenMCP && o.Federation != federationKubeFed {
		return cli.Usagef("invalid --federation %q: allowed values are openmcp, kubefed", o.Federation)
	}
	if o.replicasSet && o.Replicas < 0 {
		return cli.Usagef("invalid --replicas %d: must be 0 or more", o.Replicas)
	}
	for i, r := range o.Regions {
		v, err := topology.ParseRegion(r, false)
		if err != nil {
			return &cli.UsageError{Err: err}
		}
		o.Regions[i] = v
	}
	for i, z := range o.Zones {
		v, err := topology.ParseZone(z, false)
		if err != nil {
			return &cli.UsageError{Err: err}
		}
		o.Zones[i] = v
	}
	for _, c := range o.Clusters {
		if err := federation.ValidateClusterName(c); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	if len(o.Clusters) > 0 && (len(o.Regions) > 0 || len(o.Zones) > 0) && o.Federation == federationKubeFed {
		return cli.Usagef("--clusters and --region/--zone both place: KubeFed would ignore the region and zone, so give one or the other")
	}
	return nil
}

func (o *PlaceOptions) placement() manifest.Placement {
	p := manifest.Placement{Clusters: o.Clusters, Regions: o.Regions, Zones: o.Zones}
	if o.replicasSet {
		n := int64(o.Replicas)
		p.Replicas = &n
	}
	return p
}

// Run reads, checks, converts and places.
func (o *PlaceOptions) Run(ctx context.Context) error {
	docs, err := manifest.ReadManifests(o.Filenames, o.Recursive, o.In)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return fmt.Errorf("no objects in %s", strings.Join(o.Filenames, ", "))
	}
	opts := manifest.Options{Namespace: o.namespace, EnforceNamespace: o.enforceNamespace, Placement: o.placement()}
	hostDyn := o.hostc.Dynamic
	members, membersErr := o.fleet.Members(ctx)
	if len(o.Clusters) > 0 && membersErr == nil {
		if _, err := fleet.Select(members, o.Clusters); err != nil {
			return &cli.UsageError{Err: err}
		}
	}

	var items []openmcpapi.Item
	var warnings []string
	if o.Federation == federationOpenMCP {
		items, warnings, err = openMCPItems(docs, opts)
	} else {
		if membersErr != nil {
			return membersErr
		}
		items, warnings, err = o.kubeFedItems(ctx, docs, opts, members)
	}
	for _, w := range warnings {
		cli.Warnf(o.ErrOut, "%s", w)
	}
	if err != nil {
		return err
	}
	if o.DryRun == cmdutil.DryRunClient {
		return o.printClientDryRun(ctx, items)
	}
	gvrs := make([]schema.GroupVersionResource, len(items))
	for i, it := range items {
		gvrs[i] = it.GVR
	}
	missing, err := openmcpapi.MissingResources(o.hostc.Kube.Discovery(), gvrs)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		fix := "install the OpenMCP CRDs there"
		if o.Federation == federationKubeFed {
			fix = "enable the types with kubectl openmcp enable TYPE"
		}
		return fmt.Errorf("the host %s does not serve %s: %s (nothing was written)", o.fleet.Host.Context, strings.Join(missing, ", "), fix)
	}
	applier := &openmcpapi.Applier{Dynamic: hostDyn, FieldManager: openmcpapi.FieldManager, DryRun: o.DryRun == cmdutil.DryRunServer, Force: o.ForceConflicts}
	results, err := openmcpapi.ApplyAll(ctx, applier, items)
	if perr := o.printResults(results); perr != nil && err == nil {
		err = perr
	}
	if err == nil && o.Federation == federationOpenMCP && o.DryRun == cmdutil.DryRunNone && membersErr == nil {
		o.ensureMemberNamespaces(ctx, members, items)
	}
	return err
}

// openMCPItems converts every document to its OpenMCP object; delete uses
// it too, so it removes exactly what place wrote.
func openMCPItems(docs []manifest.Document, opts manifest.Options) ([]openmcpapi.Item, []string, error) {
	convs, warnings, err := manifest.ConvertAll(docs, opts, manifest.ToOpenMCP)
	if err != nil {
		return nil, warnings, err
	}
	items := make([]openmcpapi.Item, 0, len(convs))
	for _, c := range convs {
		k, _ := openmcpapi.KindByName(c.Object.GetKind())
		items = append(items, openmcpapi.Item{Where: c.Doc.Where(), GVR: k.GVR(), Object: c.Object})
	}
	return items, warnings, nil
}

// kubeFedItems builds the Federated<Kind> objects, plus a FederatedNamespace
// for each namespace that has none yet.
func (o *PlaceOptions) kubeFedItems(ctx context.Context, docs []manifest.Document, opts manifest.Options, members []fleet.Member) ([]openmcpapi.Item, []string, error) {
	fedMembers := make([]kubefedtypes.Member, len(members))
	for i, m := range members {
		fedMembers[i] = kubefedtypes.Member{Name: m.Name, Labels: m.Cluster.Labels}
	}
	fc, err := federatedObjects(ctx, o.fleet, o.hostc, docs, opts, o.fedPlacement, fedMembers)
	if err != nil {
		return nil, fc.warnings, err
	}
	items := make([]openmcpapi.Item, len(fc.items))
	for i, it := range fc.items {
		items[i] = it.Item
	}
	warnings := fc.warnings
	hostFed, err := federationCluster(o.fleet.Host)
	if err != nil {
		return nil, nil, err
	}
	scope, err := federation.KubeFedScope(ctx, hostFed, o.fleet.Namespace)
	if err != nil {
		return nil, warnings, err
	}
	if scope != "Cluster" || len(fc.namespaces) == 0 {
		return items, warnings, nil
	}
	// KubeFed deployed cluster-wide propagates a namespaced object only where
	// its FederatedNamespace is placed.
	nsFTC, ok := kubefedtypes.FindTypeConfig(fc.ftcs, schema.GroupKind{Kind: "Namespace"})
	if !ok {
		return nil, warnings, fmt.Errorf("KubeFed propagates namespaced objects only into namespaces it federates, and namespaces are not enabled: run 'kubectl openmcp enable namespaces' first")
	}
	ft := nsFTC.Spec.FederatedType
	nsGVR := schema.GroupVersionResource{Group: ft.Group, Version: ft.Version, Resource: ft.PluralName}
	names := make([]string, 0, len(fc.namespaces))
	for ns := range fc.namespaces {
		names = append(names, ns)
	}
	sort.Strings(names)
	var nsItems []openmcpapi.Item
	for _, ns := range names {
		_, err := o.hostc.Dynamic.Resource(nsGVR).Namespace(ns).Get(ctx, ns, metav1.GetOptions{})
		switch {
		case err == nil:
			continue // placed already, by us or by its owner: not ours to change
		case !apierrors.IsNotFound(err):
			return nil, warnings, fmt.Errorf("cannot read FederatedNamespace %s: %w", ns, err)
		}
		nsItems = append(nsItems, openmcpapi.Item{Where: fc.namespaces[ns] + " (its namespace)", GVR: nsGVR, Object: kubefedtypes.FederatedNamespace(ns, nsFTC)})
	}
	return append(nsItems, items...), warnings, nil
}

// fedItem is a Federated<Kind> object and the object KubeFed makes of it in
// each member it is placed in.
type fedItem struct {
	openmcpapi.Item
	Target schema.GroupVersionResource // the member object's resource
	Plain  *unstructured.Unstructured  // the member object (name, namespace)
}

// fedConversion is what federatedObjects makes of the documents.
type fedConversion struct {
	items []fedItem
	// namespaces holds the namespaces the objects live in that no Namespace
	// document of the user's names, each with the first document in it: place
	// may have to federate them, delete never removes them.
	namespaces map[string]string
	ftcs       []fedv1b1.FederatedTypeConfig
	warnings   []string
}

// noTypeConfigError is a document whose kind KubeFed does not federate.
type noTypeConfigError struct {
	where, name, hostNamespace string
	gk                         schema.GroupKind
}

func (e *noTypeConfigError) Error() string {
	return fmt.Sprintf("%s: %s %s: KubeFed has no FederatedTypeConfig for %s in %s: run '%s' first",
		e.where, e.gk.Kind, e.name, qualifiedKind(e.gk), e.hostNamespace, kubefedtypes.EnableHint(e.gk, pluralFor(e.gk.Kind)))
}

// federatedObjects converts every document to the Federated<Kind> object of
// its FederatedTypeConfig, for place (which writes them) and delete (which
// removes them). placement turns what an unwrapped OpenMCP object asked for
// into KubeFed placement. The error joins one error per bad document; kinds
// KubeFed does not federate are *noTypeConfigError.
func federatedObjects(ctx context.Context, f *fleet.Fleet, host *fleet.Clients, docs []manifest.Document, opts manifest.Options, placement func(manifest.Placement) kubefedtypes.Placement, members []kubefedtypes.Member) (fedConversion, error) {
	var fc fedConversion
	plainOpts := opts
	plainOpts.Placement = manifest.Placement{}
	convs, warnings, err := manifest.ConvertAll(docs, plainOpts, manifest.ToPlain)
	fc.warnings = warnings
	if err != nil {
		return fc, err
	}
	if fc.ftcs, err = kubefedtypes.ListTypeConfigs(ctx, host.Dynamic, f.Namespace); err != nil {
		return fc, err
	}
	var errs []error
	fc.namespaces = map[string]string{}
	named := map[string]bool{} // namespaces of the user's Namespace documents
	for _, c := range convs {
		obj := c.Object
		gvk := obj.GroupVersionKind()
		if gvk.Group == "" && gvk.Kind == "Namespace" {
			// KubeFed reads a FederatedNamespace only in the namespace it
			// names; ToPlain gave it the default namespace of the documents.
			obj.SetNamespace(obj.GetName())
			named[obj.GetName()] = true
		}
		ftc, ok := kubefedtypes.FindTypeConfig(fc.ftcs, gvk.GroupKind())
		if !ok {
			errs = append(errs, &noTypeConfigError{where: c.Doc.Where(), name: obj.GetName(), hostNamespace: f.Namespace, gk: gvk.GroupKind()})
			continue
		}
		if v := ftc.Spec.TargetType.Version; v != gvk.Version {
			fc.warnings = append(fc.warnings, fmt.Sprintf("%s: %s is written as %s/%s by KubeFed (its FederatedTypeConfig's version), not %s",
				c.Doc.Where(), gvk.Kind, gvk.Group, v, gvk.GroupVersion()))
		}
		fed, err := kubefedtypes.Federate(obj, ftc, placement(c.Placement), members)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Doc.Where(), err))
			continue
		}
		ft, tt := ftc.Spec.FederatedType, ftc.Spec.TargetType
		fc.items = append(fc.items, fedItem{
			Item:   openmcpapi.Item{Where: c.Doc.Where(), GVR: schema.GroupVersionResource{Group: ft.Group, Version: ft.Version, Resource: ft.PluralName}, Object: fed},
			Target: schema.GroupVersionResource{Group: tt.Group, Version: tt.Version, Resource: tt.PluralName},
			Plain:  obj,
		})
		if ns := obj.GetNamespace(); ns != "" && tt.Scope != "Cluster" {
			if _, seen := fc.namespaces[ns]; !seen {
				fc.namespaces[ns] = c.Doc.Where()
			}
		}
	}
	for ns := range named {
		delete(fc.namespaces, ns)
	}
	if len(errs) > 0 {
		return fc, errors.Join(errs...)
	}
	return fc, nil
}

// fedPlacement merges the command line with what an unwrapped OpenMCP
// object asked for; the command line wins.
func (o *PlaceOptions) fedPlacement(own manifest.Placement) kubefedtypes.Placement {
	p := kubefedtypes.Placement{Clusters: own.Clusters, Regions: own.Regions, Zones: own.Zones, Replicas: own.Replicas}
	if len(o.Clusters) > 0 || len(o.Regions) > 0 || len(o.Zones) > 0 {
		p.Clusters, p.Regions, p.Zones = o.Clusters, o.Regions, o.Zones
	}
	if o.replicasSet {
		n := int64(o.Replicas)
		p.Replicas = &n
	}
	return p
}

func qualifiedKind(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// pluralFor is the resource name of the kinds place knows, for the hint
// (KubeFed's own rule for the rest).
func pluralFor(kind string) string {
	switch kind {
	case "Ingress":
		return "ingresses"
	case "HorizontalPodAutoscaler":
		return "horizontalpodautoscalers"
	}
	return fedv1b1.PluralName(kind)
}

// printClientDryRun shows what would be placed, without writing: the
// objects with -o, else one line each saying whether it would be created.
func (o *PlaceOptions) printClientDryRun(ctx context.Context, items []openmcpapi.Item) error {
	if o.printer != nil {
		objs := make([]*unstructured.Unstructured, len(items))
		for i, it := range items {
			objs[i] = it.Object
		}
		return printObjects(o.printer, outputFormat(o.PrintFlags), o.Out, objs)
	}
	for _, it := range items {
		action := openmcpapi.Configured
		_, err := o.hostc.Dynamic.Resource(it.GVR).Namespace(it.Object.GetNamespace()).Get(ctx, it.Object.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			action = openmcpapi.Created
		} else if err != nil {
			return fmt.Errorf("%s: cannot read %s on the host: %w", it.Where, openmcpapi.Ref(it.Object), err)
		}
		termsafe.Fprintf(o.Out, "%s %s (dry run)\n", openmcpapi.Ref(it.Object), action)
	}
	return nil
}

func (o *PlaceOptions) printResults(results []openmcpapi.Result) error {
	if o.printer != nil {
		objs := make([]*unstructured.Unstructured, len(results))
		for i, r := range results {
			objs[i] = r.Live
		}
		return printObjects(o.printer, outputFormat(o.PrintFlags), o.Out, objs)
	}
	suffix := ""
	if o.DryRun == cmdutil.DryRunServer {
		suffix = " (server dry run)"
	}
	for _, r := range results {
		termsafe.Fprintf(o.Out, "%s %s%s\n", openmcpapi.Ref(r.Object), r.Action, suffix)
	}
	return nil
}
