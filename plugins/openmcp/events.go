package openmcp

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// EventsOptions are the options of `kubectl openmcp events`.
type EventsOptions struct {
	PrintFlags    *genericclioptions.PrintFlags
	Selection     *fleet.SelectionFlags
	FanOut        *fleet.FanOutFlags
	For           string
	Types         []string
	Watch         bool
	AllNamespaces bool
	NoHeaders     bool

	root      *cli.Root
	namespace string
	fleet     *fleet.Fleet
	target    *eventTarget
	genericiooptions.IOStreams
}

// eventTarget is what --for names: a kind and name on the members, and,
// for an OpenMCP kind, the object on the host it came from.
type eventTarget struct {
	Kind, Name string
	// HostKind is the OpenMCP kind on the host ("" for a plain kind).
	HostKind *openmcpapi.Kind
}

// NewCmdEvents is `kubectl openmcp events`.
func NewCmdEvents(root *cli.Root) *cobra.Command {
	o := &EventsOptions{
		root: root, IOStreams: root.Streams,
		PrintFlags: genericclioptions.NewPrintFlags("").WithTypeSetter(nil),
		Selection:  fleet.NewSelectionFlags(true, true), FanOut: fleet.NewFanOutFlags(),
	}
	cmd := &cobra.Command{
		Use:   "events [--for TYPE/NAME] (--all-clusters | --clusters C1,C2 | -C SELECTOR) [flags]",
		Short: "Show the events of every member cluster as one timeline",
		Long: `Show the events of the chosen member clusters as one timeline, oldest first,
with the columns of kubectl events and a CLUSTER column.

--for TYPE/NAME keeps the events of one object (deploy/web, pod/web-1). An
OpenMCP kind (openmcpdeployment/web, osvc/web, ...) is read on the host: its
own events there (the host is added, as CLUSTER = the host context) and, on
the members, the events of what OpenMCP made of it (the Deployment, Service,
Ingress or HPA of that name). A --for object that no chosen cluster has is
an error.

--types Warning,Normal keeps those types. -w lists, then streams new events
as they come, each line naming its cluster. -o json|yaml prints one List of
core/v1 Events, each annotated with openmcp.k8s.io/cluster, and the clusters
that did not answer in the List's openmcp.k8s.io/failed-clusters annotation.`,
		Example: `  # Everything that happened in namespace web on every member
  kubectl openmcp events -n web --all-clusters

  # Why is it not running over there: warnings for one workload, in Asia
  kubectl openmcp events -n web --for deploy/web --types Warning -C topology.kubernetes.io/region=AS

  # An OpenMCPDeployment's events on the host and its Deployments' on the members
  kubectl openmcp events -n openmcp --for openmcpdeployment/web --all-clusters -w`,
		Args: cli.NoArgs(),
		RunE: cli.Run(o),
	}
	o.Selection.AddFlags(cmd)
	o.FanOut.AddFlags(cmd.Flags())
	f := cmd.Flags()
	f.StringVar(&o.For, "for", "", "Only the events of this object: TYPE/NAME, or an OpenMCP kind/NAME on the host")
	f.StringSliceVar(&o.Types, "types", nil, "Only events of these types: Normal, Warning (comma-separated)")
	f.BoolVarP(&o.Watch, "watch", "w", false, "After listing, stream new events from every cluster")
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Events of every namespace")
	f.BoolVar(&o.NoHeaders, "no-headers", false, "Don't print headers")
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format: json, yaml, name, jsonpath, go-template (default: a table)"
	_ = cmd.RegisterFlagCompletionFunc("types", cobra.FixedCompletions([]string{"Normal", "Warning"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete reads -n and finds the host (no request yet).
func (o *EventsOptions) Complete(cmd *cobra.Command, _ []string) error {
	var err error
	o.fleet, o.namespace, err = openForReading(o.root, cmd, o.FanOut, o.Validate)
	return err
}

// Validate checks the flags before any request.
func (o *EventsOptions) Validate() error {
	if err := validateFanOut(o.Selection, o.FanOut); err != nil {
		return err
	}
	for i, t := range o.Types {
		switch strings.ToLower(t) {
		case "normal":
			o.Types[i] = corev1.EventTypeNormal
		case "warning":
			o.Types[i] = corev1.EventTypeWarning
		default:
			return cli.Usagef("invalid --types value %q: allowed values are Normal, Warning", t)
		}
	}
	if o.For != "" {
		kind, name, ok := strings.Cut(o.For, "/")
		if !ok || kind == "" || name == "" || strings.Contains(name, "/") {
			return cli.Usagef("invalid --for %q: want TYPE/NAME, e.g. deploy/web or openmcpdeployment/web", o.For)
		}
		o.target = &eventTarget{Kind: kind, Name: name}
		if k, found := openmcpapi.KindByName(kind); found {
			o.target.HostKind = &k
			o.Selection.IncludeHost = true
		}
	}
	format := outputFormat(o.PrintFlags)
	if o.Watch && format != "" && format != "wide" {
		return cli.Usagef("--watch prints table rows; it does not combine with -o %s", format)
	}
	if format != "" && format != "wide" {
		if _, err := o.PrintFlags.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	return nil
}

// namespaceOf is -n, else the host context's namespace, else default.
func namespaceOf(root *cli.Root, f *fleet.Fleet) string {
	if ns := root.ConfigFlags.Namespace; ns != nil && *ns != "" {
		return *ns
	}
	if f.Kubeconfig != nil {
		if ns, _, err := f.Kubeconfig.For(f.Host.Context).ToRawKubeConfigLoader().Namespace(); err == nil && ns != "" {
			return ns
		}
	}
	return metav1.NamespaceDefault
}

// clusterEvents is one cluster's events, and whether it has the --for object.
type clusterEvents struct {
	events      []corev1.Event
	hasTarget   bool
	resourceVer string
}

// Run lists every cluster's events in parallel and prints one timeline.
func (o *EventsOptions) Run(ctx context.Context) error {
	clusters, err := o.fleet.Select(ctx, o.Selection.Selection())
	if err != nil {
		return err
	}
	if err := o.checkHostTarget(ctx); err != nil {
		return err
	}
	results := fleet.Each(ctx, o.fleet, clusters, func(ctx context.Context, c *fleet.Cluster) (clusterEvents, error) {
		return o.list(ctx, c)
	})
	failed := failuresOf(o.fleet, results)
	if o.target != nil && o.target.HostKind == nil && len(failed) == 0 && !anyHasTarget(results) {
		return fmt.Errorf("%s %q not found in namespace %s of any of the %d clusters", strings.ToLower(o.target.Kind), o.target.Name, o.namespaceText(), len(clusters))
	}
	var rows []clusterEvent
	for _, r := range results {
		for _, e := range r.Value.events {
			rows = append(rows, clusterEvent{Cluster: r.Cluster, Event: e})
		}
	}
	sortEvents(rows)
	if err := o.print(rows, failed); err != nil {
		return err
	}
	if o.Watch {
		return o.watch(ctx, clusters, results)
	}
	if len(failed) > 0 {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

func (o *EventsOptions) namespaceText() string {
	if o.AllNamespaces {
		return "any namespace"
	}
	return o.namespace
}

// checkHostTarget fails early when --for names an OpenMCP object the host
// does not have.
func (o *EventsOptions) checkHostTarget(ctx context.Context) error {
	if o.target == nil || o.target.HostKind == nil {
		return nil
	}
	dyn, err := o.fleet.Host.Dynamic()
	if err != nil {
		return err
	}
	_, err = dyn.Resource(o.target.HostKind.GVR()).Namespace(o.namespace).Get(ctx, o.target.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %q not found in namespace %s on host %q", strings.ToLower(o.target.HostKind.Kind), o.target.Name, o.namespace, o.fleet.Host.Context)
	}
	if err != nil {
		return fmt.Errorf("host %q: %w", o.fleet.Host.Context, err)
	}
	return nil
}

// memberKinds is what OpenMCP makes on the members of each of its kinds.
var memberKinds = map[string]string{
	"OpenMCPDeployment":       "Deployment",
	"OpenMCPService":          "Service",
	"OpenMCPIngress":          "Ingress",
	"OpenMCPHybridAutoScaler": "HorizontalPodAutoscaler",
	"OpenMCPConfigMap":        "ConfigMap",
	"OpenMCPSecret":           "Secret",
	"OpenMCPJob":              "Job",
	"OpenMCPNamespace":        "Namespace",
	"OpenMCPStatefulSet":      "StatefulSet",
	"OpenMCPDaemonSet":        "DaemonSet",
}

// kindOn is the kind of --for's object on a cluster: the OpenMCP kind on
// the host, what it became on a member, else the kind the mapper resolves.
func (o *EventsOptions) kindOn(c *fleet.Cluster) (schema.GroupVersionKind, error) {
	t := o.target
	if t.HostKind != nil {
		if c.Member == nil && c.Name == o.fleet.Host.Name {
			return t.HostKind.GVK(), nil
		}
		k, ok := memberKinds[t.HostKind.Kind]
		if !ok {
			return schema.GroupVersionKind{}, fmt.Errorf("%s has no counterpart on the members", t.HostKind.Kind)
		}
		return schema.GroupVersionKind{Kind: k}, nil
	}
	g := c.Getter()
	if g == nil {
		return schema.GroupVersionKind{Kind: t.Kind}, nil
	}
	mapper, err := g.ToRESTMapper()
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	gvr, err := mapper.ResourceFor(schema.ParseGroupResource(t.Kind).WithVersion(""))
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("--for %s: %w", o.For, err)
	}
	return mapper.KindFor(gvr)
}

// list reads one cluster's events (and, for --for, whether the object is there).
func (o *EventsOptions) list(ctx context.Context, c *fleet.Cluster) (clusterEvents, error) {
	kube, err := c.Kube()
	if err != nil {
		return clusterEvents{}, err
	}
	ns := o.namespace
	if o.AllNamespaces {
		ns = metav1.NamespaceAll
	}
	opts := metav1.ListOptions{}
	var ans clusterEvents
	if o.target != nil {
		gvk, err := o.kindOn(c)
		if err != nil {
			return clusterEvents{}, err
		}
		opts.FieldSelector = fields.Set{"involvedObject.kind": gvk.Kind, "involvedObject.name": o.target.Name}.String()
		ans.hasTarget = o.hasObject(ctx, c, gvk)
	}
	list, err := kube.CoreV1().Events(ns).List(ctx, opts)
	if err != nil {
		return clusterEvents{}, err
	}
	ans.resourceVer = list.ResourceVersion
	for _, e := range list.Items {
		if o.keep(&e) {
			ans.events = append(ans.events, e)
		}
	}
	return ans, nil
}

// hasObject reports whether --for's object exists on the cluster; events
// may outlive it, so events found also count (anyHasTarget).
func (o *EventsOptions) hasObject(ctx context.Context, c *fleet.Cluster, gvk schema.GroupVersionKind) bool {
	g := c.Getter()
	if g == nil {
		return false
	}
	mapper, err := g.ToRESTMapper()
	if err != nil {
		return false
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return false
	}
	dyn, err := c.Dynamic()
	if err != nil {
		return false
	}
	ri := dyn.Resource(m.Resource)
	if m.Scope.Name() == "namespace" {
		_, err = ri.Namespace(o.namespace).Get(ctx, o.target.Name, metav1.GetOptions{})
	} else {
		_, err = ri.Get(ctx, o.target.Name, metav1.GetOptions{})
	}
	return err == nil
}

func anyHasTarget(results []fleet.Result[clusterEvents]) bool {
	for _, r := range results {
		if r.Value.hasTarget || len(r.Value.events) > 0 {
			return true
		}
	}
	return false
}

func (o *EventsOptions) keep(e *corev1.Event) bool {
	if len(o.Types) == 0 {
		return true
	}
	for _, t := range o.Types {
		if e.Type == t {
			return true
		}
	}
	return false
}

// clusterEvent is one row of the timeline.
type clusterEvent struct {
	Cluster string
	Event   corev1.Event
}

// eventTime is when an event last happened, as kubectl events orders them.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// sortEvents orders the timeline oldest first; ties by cluster, then name.
func sortEvents(rows []clusterEvent) {
	sort.SliceStable(rows, func(i, j int) bool {
		ti, tj := eventTime(&rows[i].Event), eventTime(&rows[j].Event)
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		if rows[i].Cluster != rows[j].Cluster {
			return rows[i].Cluster < rows[j].Cluster
		}
		return rows[i].Event.Name < rows[j].Event.Name
	})
}

func (o *EventsOptions) print(rows []clusterEvent, failed []printing.Failure) error {
	out := printing.OutputOfGeneric(o.PrintFlags, o.NoHeaders, "")
	if !out.Table() {
		parts := map[string]*printing.ClusterObjects{}
		var order []string
		for _, r := range rows {
			if parts[r.Cluster] == nil {
				parts[r.Cluster] = &printing.ClusterObjects{Cluster: r.Cluster}
				order = append(order, r.Cluster)
			}
			e := r.Event
			e.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Event"))
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&e)
			if err != nil {
				return err
			}
			parts[r.Cluster].Items = append(parts[r.Cluster].Items, &unstructured.Unstructured{Object: u})
		}
		list := make([]printing.ClusterObjects, 0, len(order))
		for _, c := range order {
			list = append(list, *parts[c])
		}
		if out.Format == "name" {
			return out.PrintNames(o.Out, list)
		}
		return out.PrintList(o.Out, list, failed)
	}
	if len(rows) == 0 {
		termsafe.Fprintf(o.ErrOut, "No events found in %s.\n", o.namespaceText())
		return nil
	}
	return out.PrintTable(o.Out, o.table(rows, time.Now()))
}

// table is kubectl events' table with a CLUSTER column after NAMESPACE.
func (o *EventsOptions) table(rows []clusterEvent, now time.Time) *metav1.Table {
	var cols []metav1.TableColumnDefinition
	if o.AllNamespaces {
		cols = append(cols, metav1.TableColumnDefinition{Name: "Namespace", Type: "string"})
	}
	cols = append(cols,
		metav1.TableColumnDefinition{Name: "Cluster", Type: "string"},
		metav1.TableColumnDefinition{Name: "Last Seen", Type: "string"},
		metav1.TableColumnDefinition{Name: "Type", Type: "string"},
		metav1.TableColumnDefinition{Name: "Reason", Type: "string"},
		metav1.TableColumnDefinition{Name: "Object", Type: "string"},
		metav1.TableColumnDefinition{Name: "Message", Type: "string"},
	)
	t := &metav1.Table{ColumnDefinitions: cols}
	for _, r := range rows {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: o.cells(r, now)})
	}
	return t
}

func (o *EventsOptions) cells(r clusterEvent, now time.Time) []any {
	e := &r.Event
	var cells []any
	if o.AllNamespaces {
		cells = append(cells, e.Namespace)
	}
	return append(cells, r.Cluster, lastSeen(e, now), e.Type, e.Reason,
		strings.ToLower(e.InvolvedObject.Kind)+"/"+e.InvolvedObject.Name, strings.TrimSpace(e.Message))
}

// lastSeen is kubectl events' LAST SEEN: "3m", or "3m (x5 over 10m)".
func lastSeen(e *corev1.Event, now time.Time) string {
	last := duration.HumanDuration(now.Sub(eventTime(e)))
	count := e.Count
	first := e.FirstTimestamp.Time
	if e.Series != nil {
		count = e.Series.Count
		first = e.EventTime.Time
	}
	if count > 1 && !first.IsZero() {
		return fmt.Sprintf("%s (x%d over %s)", last, count, duration.HumanDuration(now.Sub(first)))
	}
	return last
}

// watch streams each cluster's new events, one line each, until Ctrl-C. A
// cluster whose stream fails is named once; the others go on.
func (o *EventsOptions) watch(ctx context.Context, clusters []*fleet.Cluster, listed []fleet.Result[clusterEvents]) error {
	var mu sync.Mutex
	w := printers.GetNewTabWriter(o.Out)
	printer := printers.NewTablePrinter(printers.PrintOptions{NoHeaders: true})
	var wg sync.WaitGroup
	for i, c := range clusters {
		if listed[i].Err != nil {
			continue
		}
		wg.Go(func() {
			if err := o.watchCluster(ctx, c, listed[i].Value.resourceVer, func(e corev1.Event) {
				mu.Lock()
				defer mu.Unlock()
				t := o.table([]clusterEvent{{Cluster: c.Name, Event: e}}, time.Now())
				termsafe.Table(t)
				_ = printer.PrintObj(t, w)
				_ = w.Flush()
			}); err != nil && ctx.Err() == nil {
				mu.Lock()
				o.fleet.Warn(c.Name, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return nil
}

func (o *EventsOptions) watchCluster(ctx context.Context, c *fleet.Cluster, rv string, emit func(corev1.Event)) error {
	cl, err := c.Streaming()
	if err != nil {
		return err
	}
	kube := cl.Kube
	ns := o.namespace
	if o.AllNamespaces {
		ns = metav1.NamespaceAll
	}
	opts := metav1.ListOptions{ResourceVersion: rv}
	if o.target != nil {
		gvk, err := o.kindOn(c)
		if err != nil {
			return err
		}
		opts.FieldSelector = fields.Set{"involvedObject.kind": gvk.Kind, "involvedObject.name": o.target.Name}.String()
	}
	wi, err := kube.CoreV1().Events(ns).Watch(ctx, opts)
	if err != nil {
		return err
	}
	defer wi.Stop()
	for ev := range wi.ResultChan() {
		e, ok := ev.Object.(*corev1.Event)
		if !ok {
			if st, ok := ev.Object.(*metav1.Status); ok {
				return fmt.Errorf("watch ended: %s", st.Message)
			}
			continue
		}
		if o.keep(e) {
			emit(*e)
		}
	}
	if ctx.Err() == nil {
		return fmt.Errorf("watch ended")
	}
	return nil
}
