package openmcp

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/kubectl/pkg/cmd/get"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// GetOptions are the options of `kubectl openmcp get`.
type GetOptions struct {
	PrintFlags    *get.PrintFlags
	Selection     *fleet.SelectionFlags
	FanOut        *fleet.FanOutFlags
	AllNamespaces bool
	LabelSelector string
	FieldSelector string
	Watch         bool
	ChunkSize     int64
	GroupBy       string

	root      *cli.Root
	args      []string
	namespace string
	fleet     *fleet.Fleet
	plan      *fleet.Plan
	clusters  []*fleet.Cluster
	sortBy    string
	req       getRequest
	// listTypes are the types a get that lists whole types as a table reads
	// with its own requests (getlist.go); nil otherwise.
	listTypes []string
	genericiooptions.IOStreams
}

// NewCmdGet is `kubectl openmcp get`.
func NewCmdGet(root *cli.Root) *cobra.Command {
	o := &GetOptions{root: root, IOStreams: root.Streams, PrintFlags: get.NewGetPrintFlags(), Selection: fleet.NewSelectionFlags(true, true), FanOut: fleet.NewFanOutFlags(), ChunkSize: 500}
	cmd := &cobra.Command{
		Use:   "get TYPE[.VERSION][.GROUP] [NAME...] (--all-clusters | --clusters C1,C2) [flags]",
		Short: "Show resources of every member cluster in one table",
		Long: `Show resources of every member cluster in one table.

TYPE is anything kubectl get accepts on the members: hpa, deploy, svc, ingress,
pods, vpa, short names, TYPE/NAME, several types (deploy,svc) and any CRD. The
columns are the members' own server-side columns (HPAs show REFERENCE, TARGETS,
MINPODS, MAXPODS, REPLICAS), with a CLUSTER column after NAME. Rows are ordered
by cluster, namespace and name.

The members are the host's KubeFedClusters; each is reached through your
kubeconfig context of the same name (or the one it was joined from), so your
RBAC on the member applies. A cluster that fails, is slower than
--cluster-timeout, or answers with something no apiserver sends (a Table
whose rows do not match its columns, a body that is not JSON, a redirect to
another host) is left out with one warning, and the exit code is 1. Lists are
read in pages of --chunk-size objects, as kubectl get reads them. What the
clusters send is shown with its control characters made visible (ESC as ^[)
in tables and messages; -o json|yaml print it exactly.
The members found are remembered under --cache-dir (names and contexts,
nothing secret): the next get asks them while the host is still listing,
and the host's list decides which clusters are printed.

-o json|yaml prints one List; each item carries the annotation
openmcp.k8s.io/cluster naming its cluster. -o name prints CLUSTER/TYPE/NAME.
A cluster's objects are printed as soon as it and every cluster before it
have answered, and then let go: --no-headers rows, -o name lines and -o
json|yaml items are written out at once (--no-headers rows are aligned
cluster by cluster), so memory stays flat with the number of clusters; a
table with headers keeps only its text until its columns are known;
--sort-by and --group-by read every answer first.
The values of Secrets are shown as REDACTED in every format: read one with
kubectl --context CLUSTER.`,
		Example: `  # HPAs of all members, all namespaces
  kubectl openmcp get hpa --all-clusters -A

  # Deployments and services of two members, wide, as one table per type
  kubectl openmcp get deploy,svc --clusters cluster1,cluster2 -o wide

  # Pods of every member and the host, labelled app=web, as one JSON List
  kubectl openmcp get pods -l app=web --all-clusters --include-host -o json`,
		Args:              cli.MinArgs(1),
		ValidArgsFunction: completeResourceTypes(root),
		RunE:              cli.Run(o),
	}
	o.PrintFlags.AddFlags(cmd)
	addFanOutFlags(cmd, o.Selection, o.FanOut)
	f := cmd.Flags()
	f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "List the requested objects across all namespaces")
	f.StringVarP(&o.LabelSelector, "selector", "l", "", "Label selector to filter on, as kubectl get -l")
	f.StringVar(&o.FieldSelector, "field-selector", "", "Field selector to filter on, as kubectl get --field-selector")
	f.BoolVarP(&o.Watch, "watch", "w", false, "After listing, watch for changes in every cluster; each line names its cluster")
	f.StringVar(&o.GroupBy, "group-by", "", "One row per region, zone or cluster (clusters, objects, and for workloads desired/ready/available replicas), with a TOTAL row")
	_ = cmd.RegisterFlagCompletionFunc("group-by", cobra.FixedCompletions([]string{"region", "zone", "cluster"}, cobra.ShellCompDirectiveNoFileComp))
	f.Int64Var(&o.ChunkSize, "chunk-size", o.ChunkSize, "Read each cluster's lists in pages of this many objects, as kubectl get does; 0 reads each list in one answer")
	return cmd
}

// Complete resolves the clusters and how each is reached.
func (o *GetOptions) Complete(cmd *cobra.Command, args []string) error {
	o.args = args
	if o.root.ConfigFlags.Namespace != nil {
		o.namespace = *o.root.ConfigFlags.Namespace
	}
	if o.PrintFlags.HumanReadableFlags.SortBy != nil {
		o.sortBy = *o.PrintFlags.HumanReadableFlags.SortBy
	}
	if o.AllNamespaces {
		_ = o.PrintFlags.EnsureWithNamespace()
	}
	if err := validateFanOut(o.Selection, o.FanOut); err != nil {
		return err
	}
	if o.ChunkSize < 0 {
		return cli.Usagef("invalid --chunk-size %d: must be 0 (one answer per list) or more", o.ChunkSize)
	}
	if _, err := o.PrintFlags.ToPrinter(); err != nil {
		return &cli.UsageError{Err: err}
	}
	var err error
	if o.fleet, err = newFleet(o.root, cmd, o.FanOut); err != nil {
		return err
	}
	o.req = o.planRequest()
	if o.req.table && o.req.includeObject != "Object" && !o.Watch {
		o.listTypes = listableTypes(args)
	}
	if o.req.strip && o.listTypes == nil {
		o.fleet.WrapTransport = printing.StripTablesUnprinted
	}
	o.plan = o.fleet.Plan(o.Selection.Selection())
	return nil
}

func (o *GetOptions) Validate() error {
	if o.Watch && o.outputFormat() != "" && o.outputFormat() != "wide" {
		return cli.Usagef("--watch prints table rows; it does not combine with -o %s", o.outputFormat())
	}
	switch {
	case o.GroupBy == "":
	case o.GroupBy != "region" && o.GroupBy != "zone" && o.GroupBy != "cluster":
		return cli.Usagef("invalid --group-by %q: allowed values are region, zone, cluster", o.GroupBy)
	case !o.humanReadable():
		return cli.Usagef("--group-by prints a summary table: it does not combine with -o %s", o.outputFormat())
	case o.Watch:
		return cli.Usagef("--group-by prints a summary: it does not combine with --watch")
	}
	return nil
}

func (o *GetOptions) outputFormat() string {
	if o.PrintFlags.OutputFormat == nil {
		return ""
	}
	return *o.PrintFlags.OutputFormat
}

func (o *GetOptions) humanReadable() bool {
	f := o.outputFormat()
	return f == "" || f == "wide"
}

// clusterAnswer is one cluster's infos.
type clusterAnswer struct {
	infos    []*resource.Info
	notFound []error
}

// getRequest is how get asks every cluster and keeps its answers, decided
// once from the flags.
type getRequest struct {
	// table asks for server-side Tables (the default and -o wide).
	table bool
	// includeObject is the Tables' includeObject: Object for --sort-by
	// (a JSONPath over whole objects), None when only the cells are printed
	// (each row's metadata, managed fields included, is most of a Table's
	// bytes), "" (the server's default, metadata) when printing reads it:
	// the NAMESPACE column of -A, --show-labels, -L.
	includeObject string
	// strip drops managed fields and annotations from rows with metadata as
	// they arrive (printing.StripUnprinted): no printer reads them.
	strip bool
	// compact keeps only what is printed of each row until every cluster is in.
	compact bool
}

func (o *GetOptions) planRequest() getRequest {
	h := o.PrintFlags.HumanReadableFlags
	rowsNeedMetadata := o.AllNamespaces ||
		(h.ShowLabels != nil && *h.ShowLabels) ||
		(h.ColumnLabels != nil && len(*h.ColumnLabels) > 0)
	// -o name prints TYPE/NAME: a Table's Name column is all it reads of
	// each object, where whole objects cost 10 times the CPU and each
	// row's metadata (managed fields included) 2 times.
	namesOnly := o.outputFormat() == "name" && !o.Watch
	r := getRequest{table: o.humanReadable() || namesOnly}
	switch {
	case !r.table:
	case namesOnly:
		r.includeObject, r.compact = "None", true
	case o.sortBy != "":
		r.includeObject = "Object"
	case rowsNeedMetadata:
		r.strip, r.compact = true, true
	default:
		r.includeObject, r.compact = "None", true
	}
	return r
}

func (o *GetOptions) transform(req *rest.Request) {
	if !o.req.table {
		return
	}
	req.SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	if o.req.includeObject != "" {
		req.Param("includeObject", o.req.includeObject)
	}
}

func (o *GetOptions) builder(c *fleet.Cluster) *resource.Builder {
	return resource.NewBuilder(c.Getter()).
		Unstructured().
		NamespaceParam(o.namespace).DefaultNamespace().AllNamespaces(o.AllNamespaces).
		LabelSelectorParam(o.LabelSelector).
		FieldSelectorParam(o.FieldSelector).
		RequestChunksOf(o.ChunkSize).
		// A copy: the builder rewrites args[0] in place (aliases), and the
		// clusters' builders run side by side.
		ResourceTypeOrNameArgs(true, slices.Clone(o.args)...).
		ContinueOnError().
		Latest().
		Flatten().
		TransformRequests(o.transform)
}

func (o *GetOptions) fetch(ctx context.Context, c *fleet.Cluster) (clusterAnswer, error) {
	if o.listTypes != nil {
		if ans, handled, err := o.listTables(ctx, c, o.listTypes); handled {
			return ans, err
		}
	}
	r := o.builder(c).Do()
	if err := r.Err(); err != nil {
		return clusterAnswer{}, err
	}
	infos, err := r.Infos()
	if o.req.table {
		if derr := o.decodeTables(infos); derr != nil {
			return clusterAnswer{}, derr
		}
	}
	ans := clusterAnswer{infos: infos}
	if err != nil {
		// A named object missing from some members is normal in a federation.
		var rest []error
		for _, e := range fleet.Flatten(err) {
			if apierrors.IsNotFound(e) {
				ans.notFound = append(ans.notFound, e)
			} else {
				rest = append(rest, e)
			}
		}
		if len(rest) > 0 {
			return ans, utilerrors.NewAggregate(rest)
		}
	}
	return ans, nil
}

// decodeTables turns a cluster's answers into Tables as soon as they arrive,
// while slower clusters are still answering, and lets the decoded response
// go: only the rows, trimmed to what the printer reads, are kept until every
// cluster is in. An answer that is not a well-formed Table (a wrong kind,
// rows that do not match the columns, a cell that is an object) is that
// cluster's failure, not the command's.
func (o *GetOptions) decodeTables(infos []*resource.Info) error {
	for _, info := range infos {
		t, err := printing.DecodeTable(info.Object)
		if err != nil {
			return err
		}
		if o.req.compact {
			printing.CompactRows(t)
		}
		info.Object = t
	}
	return nil
}

// Run reads every cluster in parallel and prints one table (or List). The
// members of last time are asked while the host lists the members of now.
func (o *GetOptions) Run(ctx context.Context) error {
	var mu sync.Mutex // the fan-out's goroutines read byKey while the host's answer adds to it
	byKey := map[string]*fleet.Cluster{}
	guess := make([]string, 0, len(o.plan.Guess))
	for _, c := range o.plan.Guess {
		byKey[c.Key()] = c
		guess = append(guess, c.Key())
	}
	actual := func(ctx context.Context) ([]string, error) {
		clusters, err := o.plan.Resolve(ctx)
		if err != nil {
			return nil, err
		}
		// Printed in this order as they answer: rows go by cluster name.
		slices.SortStableFunc(clusters, func(a, b *fleet.Cluster) int { return strings.Compare(a.Name, b.Name) })
		o.clusters = clusters
		keys := make([]string, len(clusters))
		mu.Lock()
		defer mu.Unlock()
		for i, c := range clusters {
			keys[i] = c.Key()
			if _, ok := byKey[keys[i]]; !ok {
				byKey[keys[i]] = c
			}
		}
		return keys, nil
	}
	sink, err := o.newSink()
	if err != nil {
		return err
	}
	failed, objects := 0, 0
	var ok []fleet.Result[clusterAnswer] // for -w, which watches what it listed
	var notFound []error
	var failures []printing.Failure
	var printErr error
	err = fleet.FanOutAhead(ctx, guess, actual, o.FanOut.MaxParallel, o.FanOut.Timeout, func(ctx context.Context, key string) (clusterAnswer, error) {
		mu.Lock()
		t := byKey[key]
		mu.Unlock()
		return o.fetch(ctx, t)
	}, func(r fleet.Result[clusterAnswer]) {
		r.Cluster = byKey[r.Cluster].Name
		if r.Err != nil {
			failed++
			o.fleet.Warn(r.Cluster, r.Err)
			failures = append(failures, printing.Failure{Cluster: r.Cluster, Reason: o.fleet.Reason(r.Err)})
			return
		}
		notFound = append(notFound, r.Value.notFound...)
		objects += len(r.Value.infos)
		if o.Watch {
			ok = append(ok, r)
		}
		if printErr == nil {
			printErr = sink.add(r.Cluster, r.Value)
		}
	})
	if err != nil {
		return err
	}
	if printErr != nil {
		return printErr
	}
	if err := sink.finish(failures); err != nil {
		return err
	}
	if len(notFound) > 0 && objects == 0 && failed == 0 {
		return fmt.Errorf("%v in any of the %d clusters", notFoundMessage(notFound[0]), len(o.clusters))
	}
	if failed > 0 {
		if o.Watch {
			cli.Warnf(o.ErrOut, "watching the %d clusters that answered", len(ok))
		} else {
			return &cli.SilentError{Code: cli.ExitError}
		}
	}
	if o.Watch {
		return o.watch(ctx, ok)
	}
	return nil
}

func notFoundMessage(err error) string {
	return strings.TrimSuffix(err.Error(), " not found") + " not found"
}

// printTables prints one merged table per resource type, in the order the
// types were asked for.
func (o *GetOptions) printTables(results []fleet.Result[clusterAnswer]) error {
	var order []schema.GroupKind
	parts := map[schema.GroupKind][]printing.ClusterTable{}
	for _, r := range results {
		for _, info := range r.Value.infos {
			gk := info.Mapping.GroupVersionKind.GroupKind()
			t, err := printing.DecodeTable(info.Object)
			if err != nil { // decodeTables let no such answer through
				return fmt.Errorf("cluster %s: %w", r.Cluster, err)
			}
			if _, seen := parts[gk]; !seen {
				order = append(order, gk)
			}
			parts[gk] = append(parts[gk], printing.ClusterTable{Cluster: r.Cluster, Table: t})
		}
	}
	// A type no cluster has objects of prints nothing, as in kubectl get a,b.
	nonEmpty := order[:0]
	for _, gk := range order {
		for _, p := range parts[gk] {
			if len(p.Table.Rows) > 0 {
				nonEmpty = append(nonEmpty, gk)
				break
			}
		}
	}
	order = nonEmpty
	// The tab writer writes each cell on its own: unbuffered, a table of
	// many clusters' rows was hundreds of thousands of write calls.
	out := bufio.NewWriterSize(o.Out, 64<<10)
	defer out.Flush()
	w := printers.GetNewTabWriter(out)
	defer w.Flush()
	if len(order) == 0 {
		if len(results) > 0 {
			termsafe.Fprintf(o.ErrOut, "No resources found in %s of %d clusters.\n", o.namespacePhrase(), len(results))
		}
		return nil
	}
	for i, gk := range order {
		flags := o.PrintFlags.Copy()
		if len(order) > 1 {
			// As kubectl get a,b: names carry their kind (deployment.apps/web).
			flags.SetKind(gk)
			_ = flags.EnsureWithKind()
		}
		printer, err := flags.ToPrinter()
		if err != nil {
			return err
		}
		table := printing.MergeTables(parts[gk])
		if o.GroupBy != "" {
			// A summary's rows are no objects: kubectl's own table printer,
			// without the columns it adds from objects (-A, -L).
			table = printing.GroupTables(parts[gk], groupColumn(o.GroupBy), o.groupOf)
			printer = printers.NewTablePrinter(printers.PrintOptions{NoHeaders: printing.OutputOf(o.PrintFlags).NoHeaders})
			if len(order) > 1 {
				fmt.Fprintf(w, "%s\n", strings.ToUpper(gk.Kind))
			}
		}
		if o.sortBy != "" && o.GroupBy == "" {
			sorter, err := get.NewTableSorter(table, o.sortBy)
			if err != nil {
				return &cli.UsageError{Err: err}
			}
			if err := sorter.Sort(); err != nil {
				return err
			}
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		termsafe.Table(table)
		if err := printer.PrintObj(table, w); err != nil {
			return err
		}
	}
	return nil
}

func groupColumn(by string) string { return strings.ToUpper(by[:1]) + by[1:] }

// groupOf is a cluster's group for --group-by: itself, or its KubeFedCluster's
// region or zone label ("<none>" without one; the host is "<host>").
func (o *GetOptions) groupOf(cluster string) string {
	if o.GroupBy == "cluster" {
		return cluster
	}
	for _, c := range o.clusters {
		if c.Name != cluster || c.Member == nil {
			continue
		}
		region, zone := regionZone(*c.Member)
		if o.GroupBy == "region" {
			return orNone(region)
		}
		return orNone(zone)
	}
	return "<host>"
}

// namespacePhrase is where get looked: without -n it lists every
// namespace, as the resource builder does with no namespace.
func (o *GetOptions) namespacePhrase() string {
	if o.AllNamespaces || o.namespace == "" {
		return "any namespace"
	}
	return "namespace " + o.namespace
}

// printObjects prints every object as one List (json, yaml with --sort-by,
// jsonpath, custom-columns, go-template); -o name is nameSink's.
func (o *GetOptions) printObjects(results []fleet.Result[clusterAnswer], failures []printing.Failure) error {
	var parts []printing.ClusterObjects
	redacted := 0
	for _, r := range results {
		p, n := o.objectsOf(r.Cluster, r.Value)
		parts = append(parts, p)
		redacted += n
	}
	o.noteRedacted(redacted)
	return printing.OutputOf(o.PrintFlags).PrintList(o.Out, parts, failures)
}

// objectsOf is a cluster's objects as printed, the values of its Secrets
// redacted (and how many were): they never reach the terminal, a log or a
// CI transcript, whichever clusters they come from.
func (o *GetOptions) objectsOf(cluster string, ans clusterAnswer) (printing.ClusterObjects, int) {
	p := printing.ClusterObjects{Cluster: cluster}
	redacted := 0
	for _, info := range ans.infos {
		if u, ok := info.Object.(*unstructured.Unstructured); ok {
			if printing.IsSecretKind(u.GetKind()) {
				u = printing.Redact(u)
				redacted++
			}
			p.Items = append(p.Items, u)
		}
	}
	return p, redacted
}

func (o *GetOptions) noteRedacted(n int) {
	if n > 0 {
		termsafe.Fprintf(o.ErrOut, "The values of %d Secret(s) are shown as %s; read one with kubectl get secret NAME -n NAMESPACE --context CLUSTER -o yaml.\n", n, printing.Redacted)
	}
}

// watch streams changes from every cluster, one table row per event, each
// tagged with its cluster, until Ctrl-C.
func (o *GetOptions) watch(ctx context.Context, results []fleet.Result[clusterAnswer]) error {
	var mu sync.Mutex
	w := printers.GetNewTabWriter(o.Out)
	flags := o.PrintFlags.Copy()
	noHeaders := true
	flags.NoHeaders = &noHeaders
	printer, err := flags.ToPrinter()
	if err != nil {
		return err
	}
	byName := map[string]*fleet.Cluster{}
	for _, c := range o.clusters {
		byName[c.Name] = c
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(results))
	for _, r := range results {
		for _, info := range r.Value.infos {
			rv := ""
			if acc, err := meta.ListAccessor(info.Object); err == nil {
				rv = acc.GetResourceVersion()
			}
			cluster, info := r.Cluster, info
			wg.Go(func() {
				helper := resource.NewHelper(info.Client, info.Mapping)
				ns := info.Namespace
				if o.AllNamespaces {
					ns = metav1.NamespaceAll
				}
				wi, err := helper.Watch(ns, info.Mapping.GroupVersionKind.GroupVersion().String(), &metav1.ListOptions{ResourceVersion: rv, LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector})
				if err != nil {
					errs <- fmt.Errorf("cluster %s: watch: %w", cluster, err)
					return
				}
				// The apiserver sends a watch's columns with its first event
				// only; the list's stand in until then.
				var cols []metav1.TableColumnDefinition
				if t, ok := info.Object.(*metav1.Table); ok {
					cols = t.ColumnDefinitions
				}
				_, _ = watchtools.UntilWithoutRetry(ctx, wi, func(e watch.Event) (bool, error) {
					if e.Type == watch.Error {
						mu.Lock() // the clusters' watches share stderr too
						defer mu.Unlock()
						cli.Warnf(o.ErrOut, "cluster %s: watch ended: %v", cluster, apierrors.FromObject(e.Object))
						return true, nil
					}
					t, err := printing.DecodeTable(e.Object)
					if err == nil {
						if len(t.ColumnDefinitions) > 0 {
							cols = t.ColumnDefinitions
						} else {
							t.ColumnDefinitions = cols
							err = printing.CheckRows(t, len(cols))
						}
					}
					if err != nil {
						// Garbage once is garbage from then on: one line, and
						// this cluster's changes are no longer shown.
						mu.Lock()
						defer mu.Unlock()
						cli.Warnf(o.ErrOut, "cluster %s: watch: %v; its changes are no longer shown", cluster, err)
						return true, nil
					}
					merged := printing.MergeTables([]printing.ClusterTable{{Cluster: cluster, Table: t}})
					termsafe.Table(merged)
					mu.Lock()
					defer mu.Unlock()
					_ = printer.PrintObj(merged, w)
					w.Flush()
					return false, nil
				})
			})
		}
	}
	wg.Wait()
	close(errs)
	var all []error
	for e := range errs {
		all = append(all, e)
	}
	if ctx.Err() != nil {
		return cli.Interruptedf("stopped watching %s in %d cluster(s); nothing was changed", strings.Join(o.args, ","), len(results))
	}
	return utilerrors.NewAggregate(all)
}

var _ runtime.Object = &metav1.Table{}
