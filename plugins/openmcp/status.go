package openmcp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// StatusOptions are the options of `kubectl openmcp status`.
type StatusOptions struct {
	Kind      openmcpapi.Kind
	Name      string
	Selection *fleet.SelectionFlags
	FanOut    *fleet.FanOutFlags

	root      *cli.Root
	namespace string
	fleet     *fleet.Fleet
	hostc     *fleet.Clients
	genericiooptions.IOStreams
}

// NewCmdStatus is `kubectl openmcp status`.
func NewCmdStatus(root *cli.Root) *cobra.Command {
	o := &StatusOptions{IOStreams: root.Streams, Selection: fleet.NewSelectionFlags(false, false), FanOut: fleet.NewFanOutFlags(), root: root}
	cmd := &cobra.Command{
		Use:   "status OPENMCPKIND/NAME",
		Short: "Show what the federation planned for a resource beside what each member runs",
		Long: `Show one OpenMCP resource as the control plane decided it (status.clusterMaps,
a HybridAutoScaler's min/max maps) beside what each member cluster really runs:
the Deployment's desired, ready and available replicas, the Service's type and
external IP, the Ingress's hosts and address, the HPA and VPA of an autoscaler.
It ends with a verdict line such as "8/8 replicas ready in 2 clusters".
OpenMCP itself never adds up ready replicas across clusters.`,
		Example: `  kubectl openmcp status openmcpdeployment/openmcp-deployment -n openmcp
  kubectl openmcp status osvc/openmcp-service -n openmcp`,
		Args:              cli.ExactArgs(1),
		ValidArgsFunction: completeOpenMCPKinds,
		RunE:              cli.Run(o),
	}
	o.Selection.AddSelectorFlag(cmd, "Only the ")
	o.FanOut.AddFlags(cmd.Flags())
	return cmd
}

func (o *StatusOptions) Complete(cmd *cobra.Command, args []string) error {
	root := o.root
	if err := o.Validate(); err != nil {
		return err
	}
	kind, name, ok := strings.Cut(args[0], "/")
	if !ok || name == "" {
		return cli.Usagef("invalid argument %q: want OPENMCPKIND/NAME, e.g. openmcpdeployment/web", args[0])
	}
	k, found := openmcpapi.KindByName(kind)
	if !found {
		var names []string
		for _, k := range openmcpapi.Kinds {
			names = append(names, strings.ToLower(k.Kind))
		}
		return cli.Usagef("unknown OpenMCP kind %q: one of %s", kind, strings.Join(names, ", "))
	}
	o.Kind, o.Name = k, name
	var err error
	if o.fleet, o.hostc, err = openFleet(root, cmd, o.FanOut); err != nil {
		return err
	}
	o.namespace = namespaceOf(root, o.fleet)
	return nil
}

// Validate refuses bad flags before the host is looked for.
func (o *StatusOptions) Validate() error {
	if err := o.FanOut.Validate(); err != nil {
		return err
	}
	return o.Selection.Validate()
}

// memberView is how one kind's member objects are read and shown.
type memberView struct {
	gvr     schema.GroupVersionResource
	columns []string
	cells   func(obj *unstructured.Unstructured) []any
	ready   func(obj *unstructured.Unstructured) int64
}

var (
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	services    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	ingresses   = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
	hpas        = schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}
)

func num(obj *unstructured.Unstructured, fields ...string) int64 {
	n, _, _ := unstructured.NestedInt64(obj.Object, fields...)
	return n
}

func str(obj *unstructured.Unstructured, fields ...string) string {
	s, _, _ := unstructured.NestedString(obj.Object, fields...)
	return s
}

func viewFor(kind string) memberView {
	switch kind {
	case "OpenMCPDeployment":
		return memberView{gvr: deployments, columns: []string{"Desired", "Ready", "Available", "Up-to-date"},
			cells: func(d *unstructured.Unstructured) []any {
				return []any{num(d, "spec", "replicas"), num(d, "status", "readyReplicas"), num(d, "status", "availableReplicas"), num(d, "status", "updatedReplicas")}
			},
			ready: func(d *unstructured.Unstructured) int64 { return num(d, "status", "readyReplicas") }}
	case "OpenMCPService":
		return memberView{gvr: services, columns: []string{"Type", "Cluster-IP", "External-IP"},
			cells: func(s *unstructured.Unstructured) []any {
				var ips []string
				ing, _, _ := unstructured.NestedSlice(s.Object, "status", "loadBalancer", "ingress")
				for _, i := range ing {
					if m, ok := i.(map[string]any); ok {
						ips = append(ips, fmt.Sprint(firstNonEmpty(fmt.Sprint(m["ip"]), fmt.Sprint(m["hostname"]))))
					}
				}
				ext := "<none>"
				if len(ips) > 0 {
					ext = strings.Join(ips, ",")
				} else if str(s, "spec", "type") == "LoadBalancer" {
					ext = "<pending>"
				}
				return []any{str(s, "spec", "type"), str(s, "spec", "clusterIP"), ext}
			}}
	case "OpenMCPIngress":
		return memberView{gvr: ingresses, columns: []string{"Hosts", "Address"},
			cells: func(i *unstructured.Unstructured) []any {
				var hosts, addrs []string
				rules, _, _ := unstructured.NestedSlice(i.Object, "spec", "rules")
				for _, r := range rules {
					if m, ok := r.(map[string]any); ok && m["host"] != nil {
						hosts = append(hosts, fmt.Sprint(m["host"]))
					}
				}
				lb, _, _ := unstructured.NestedSlice(i.Object, "status", "loadBalancer", "ingress")
				for _, l := range lb {
					if m, ok := l.(map[string]any); ok && m["ip"] != nil {
						addrs = append(addrs, fmt.Sprint(m["ip"]))
					}
				}
				return []any{orNone(strings.Join(hosts, ",")), orNone(strings.Join(addrs, ","))}
			}}
	case "OpenMCPHybridAutoScaler":
		return memberView{gvr: hpas, columns: []string{"HPA Min", "HPA Max", "Replicas"},
			cells: func(h *unstructured.Unstructured) []any {
				return []any{num(h, "spec", "minReplicas"), num(h, "spec", "maxReplicas"), num(h, "status", "currentReplicas")}
			}}
	}
	return memberView{}
}

type memberState struct {
	obj  *unstructured.Unstructured
	vpa  string
	seen bool
}

func (o *StatusOptions) Run(ctx context.Context) error {
	hostObj, err := o.hostc.Dynamic.Resource(o.Kind.GVR()).Namespace(o.namespace).Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("host %q: %w", o.fleet.Host.Context, err)
	}
	plan := openmcpapi.PlanOf(hostObj)
	members, err := o.fleet.Members(ctx)
	if err != nil {
		return err
	}
	if o.Selection.Selector != "" {
		chosen, err := o.fleet.Select(ctx, o.Selection.Selection())
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		for _, c := range chosen {
			keep[c.Name] = true
		}
		for _, m := range []map[string]int64{plan.Clusters, plan.Min, plan.Max} {
			maps.DeleteFunc(m, func(name string, _ int64) bool { return !keep[name] })
		}
		members = slices.DeleteFunc(members, func(m fleet.Member) bool {
			return !slices.ContainsFunc(chosen, func(c *fleet.Cluster) bool { return c.Name == m.Name })
		})
	}
	byName := map[string]fleet.Member{}
	names := plan.ClusterNames()
	planned := map[string]bool{}
	for _, n := range names {
		planned[n] = true
	}
	for _, m := range members {
		byName[m.Name] = m
		if !planned[m.Name] {
			names = append(names, m.Name)
		}
	}
	sort.Strings(names)
	view := viewFor(o.Kind.Kind)
	memberName := o.Name
	if o.Kind.Kind == "OpenMCPHybridAutoScaler" {
		// The autoscaler's HPA is named after its target.
		if t := str(hostObj, "spec", "scalingOptions", "hpaTemplate", "spec", "scaleTargetRef", "name"); t != "" {
			memberName = t
		}
	}
	states := fleet.FanOut(ctx, names, o.FanOut.MaxParallel, o.FanOut.Timeout, func(ctx context.Context, name string) (memberState, error) {
		m, ok := byName[name]
		if !ok {
			return memberState{}, fmt.Errorf("planned by OpenMCP but not joined")
		}
		if m.Context == "" {
			return memberState{}, fmt.Errorf("no kubeconfig context reaches it")
		}
		member, err := o.fleet.Reach(ctx, m)
		if err != nil {
			return memberState{}, err
		}
		c, err := member.Clients()
		if err != nil {
			return memberState{}, err
		}
		st := memberState{}
		if view.gvr.Resource == "" {
			return st, nil
		}
		obj, err := c.Dynamic.Resource(view.gvr).Namespace(o.namespace).Get(ctx, memberName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return st, err
		default:
			st.obj, st.seen = obj, true
		}
		if o.Kind.Kind == "OpenMCPHybridAutoScaler" {
			vpa := schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalers"}
			_, err := c.Dynamic.Resource(vpa).Namespace(o.namespace).Get(ctx, memberName, metav1.GetOptions{})
			st.vpa = map[bool]string{true: "yes", false: "no"}[err == nil]
		}
		return st, nil
	})
	cols := []metav1.TableColumnDefinition{{Name: "Cluster", Type: "string"}, {Name: "Planned", Type: "string"}}
	for _, c := range view.columns {
		cols = append(cols, metav1.TableColumnDefinition{Name: c, Type: "string"})
	}
	if o.Kind.Kind == "OpenMCPHybridAutoScaler" {
		cols = append(cols, metav1.TableColumnDefinition{Name: "VPA", Type: "string"})
	}
	table := &metav1.Table{ColumnDefinitions: cols}
	ready := map[string]int64{}
	failed := false
	for _, s := range states {
		plannedCell := "-"
		if n, ok := plan.Clusters[s.Cluster]; ok {
			plannedCell = fmt.Sprint(n)
		}
		if o.Kind.Kind == "OpenMCPHybridAutoScaler" {
			plannedCell = fmt.Sprintf("%d-%d", plan.Min[s.Cluster], plan.Max[s.Cluster])
		}
		cells := []any{s.Cluster, plannedCell}
		switch {
		case s.Err != nil:
			failed = true
			o.fleet.Warn(s.Cluster, s.Err)
			for range view.columns {
				cells = append(cells, "<unknown>")
			}
		case s.Value.seen:
			cells = append(cells, view.cells(s.Value.obj)...)
			if view.ready != nil {
				ready[s.Cluster] = view.ready(s.Value.obj)
			}
		default:
			for range view.columns {
				cells = append(cells, "<absent>")
			}
		}
		if o.Kind.Kind == "OpenMCPHybridAutoScaler" {
			cells = append(cells, orNone(s.Value.vpa))
		}
		table.Rows = append(table.Rows, metav1.TableRow{Cells: cells})
	}
	termsafe.Fprintf(o.Out, "%s %s/%s on host %q\n", strings.ToLower(o.Kind.Kind)+"."+openmcpapi.Group, o.namespace, o.Name, o.fleet.Host.Context)
	termsafe.Table(table) // the cells are what the members' objects say
	if err := printers.NewTablePrinter(printers.PrintOptions{}).PrintObj(table, o.Out); err != nil {
		return err
	}
	fmt.Fprintln(o.Out, o.verdict(plan, ready, states))
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

func (o *StatusOptions) verdict(plan openmcpapi.Plan, ready map[string]int64, states []fleet.Result[memberState]) string {
	if len(plan.Clusters) == 0 && len(plan.Max) == 0 {
		return "not scheduled: status.clusterMaps is empty (is OpenMCP's scheduler running in namespace openmcp?)"
	}
	if o.Kind.Kind == "OpenMCPDeployment" {
		return openmcpapi.ReplicaVerdict(plan.Clusters, ready)
	}
	present, want := 0, 0
	for _, s := range states {
		if plan.Clusters[s.Cluster] > 0 || (o.Kind.Kind == "OpenMCPHybridAutoScaler" && plan.Max[s.Cluster] > 0) {
			want++
			if s.Err == nil && s.Value.seen {
				present++
			}
		}
	}
	return fmt.Sprintf("present in %d/%d planned clusters", present, want)
}
