package openmcp

import (
	"context"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
)

// The common get, `get TYPE[,TYPE...]` printed as a table, reads each
// cluster's lists with its own requests rather than through cli-runtime's
// resource builder: the same mapping (the cluster's REST mapper, short
// names included), namespace, selectors and pages, but each answer read as
// it streams off the connection into the rows that are printed
// (printing.ReadCompactTable), where the builder holds every body whole, scans it
// twice and decodes each row into maps. Names, TYPE/NAME, kinds and
// categories such as "all" still go through the builder.

// listableTypes are the types of a get that lists whole types, or nil when
// the arguments are anything else.
func listableTypes(args []string) []string {
	if len(args) != 1 || strings.Contains(args[0], "/") {
		return nil
	}
	types := strings.Split(args[0], ",")
	for _, t := range types {
		if t == "" || t == "all" {
			return nil
		}
	}
	return types
}

// listTables lists the types as Tables from one cluster. handled is false
// when a type is not one of the cluster's resources as named (a kind, a
// category): the builder then answers, with its own words for a type the
// cluster lacks.
func (o *GetOptions) listTables(ctx context.Context, c *fleet.Cluster, types []string) (ans clusterAnswer, handled bool, err error) {
	getter := c.Getter()
	if getter == nil {
		return ans, false, nil
	}
	mapper, err := getter.ToRESTMapper()
	if err != nil {
		return ans, true, err
	}
	mappings := make([]*meta.RESTMapping, 0, len(types))
	for _, t := range types {
		m, ok := resourceMapping(mapper, t)
		if !ok {
			return ans, false, nil
		}
		mappings = append(mappings, m)
	}
	client, err := c.RESTClient()
	if err != nil {
		return ans, true, err
	}
	objects := printing.NoRowObjects
	if o.req.includeObject == "" {
		objects = printing.RowMetadata
	}
	for _, m := range mappings {
		ns := "" // every namespace, as the builder lists without -n
		if m.Scope.Name() == meta.RESTScopeNameNamespace && !o.AllNamespaces {
			ns = o.namespace
		}
		var table *printing.CompactTable
		next := ""
		for {
			page, err := o.listPage(ctx, client, m, ns, next, objects)
			if err != nil {
				return ans, true, err
			}
			if table == nil {
				table = page // most lists are one page: nothing to copy
			} else {
				table.Append(page)
				table.ListMeta = page.ListMeta
			}
			if next = page.Continue; next == "" {
				break
			}
		}
		ans.infos = append(ans.infos, &resource.Info{Mapping: m, Namespace: ns, Object: table})
	}
	return ans, true, nil
}

// resourceMapping resolves a type as the builder resolves a resource name:
// resource.version.group, then resource.group (short names expand).
func resourceMapping(mapper meta.RESTMapper, arg string) (*meta.RESTMapping, bool) {
	gvr, gr := schema.ParseResourceArg(arg)
	var gvk schema.GroupVersionKind
	if gvr != nil {
		gvk, _ = mapper.KindFor(*gvr)
	}
	if gvk.Empty() {
		gvk, _ = mapper.KindFor(gr.WithVersion(""))
	}
	if gvk.Empty() {
		return nil, false
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	return m, err == nil
}

// listPage is one page of a list, asked for as a Table and read as it
// arrives.
func (o *GetOptions) listPage(ctx context.Context, client rest.Interface, m *meta.RESTMapping, ns, cont string, objects printing.RowObjects) (*printing.CompactTable, error) {
	prefix := "/api/" + m.Resource.Version
	if m.Resource.Group != "" {
		prefix = "/apis/" + m.Resource.Group + "/" + m.Resource.Version
	}
	opts := &metav1.ListOptions{LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector, Limit: o.ChunkSize, Continue: cont}
	req := client.Get().AbsPath(prefix).NamespaceIfScoped(ns, ns != "").Resource(m.Resource.Resource).
		VersionedParams(opts, metav1.ParameterCodec)
	o.transform(req)
	body, err := req.Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return printing.ReadCompactTable(body, objects)
}
