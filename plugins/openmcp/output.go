// Output helpers the commands share; tables and Lists of many clusters are
// printed by pkg/printing.Output.
package openmcp

import (
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
)

// asUnstructured is a copy of obj as an unstructured object, for printing.
func asUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.DeepCopy(), nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// withClusterAnnotation names, in printed output only, the cluster an object is on.
func withClusterAnnotation(u *unstructured.Unstructured, cluster string) {
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[fleet.ClusterAnnotation] = cluster
	u.SetAnnotations(ann)
}

// outputFormat is -o as given ("" for the default table).
func outputFormat(pf *genericclioptions.PrintFlags) string {
	if pf.OutputFormat == nil {
		return ""
	}
	return *pf.OutputFormat
}

// printObjects prints objects with Secret data redacted: for json and yaml
// several objects make one List, as kubectl prints them.
func printObjects(p printers.ResourcePrinter, format string, w io.Writer, objs []*unstructured.Unstructured) error {
	if (format != "json" && format != "yaml") || len(objs) == 1 {
		for _, obj := range objs {
			if err := p.PrintObj(printing.Redact(obj), w); err != nil {
				return err
			}
		}
		return nil
	}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}}}
	for _, obj := range objs {
		list.Items = append(list.Items, *printing.Redact(obj))
	}
	return p.PrintObj(list, w)
}

// failuresOf lists the clusters of a fan-out that did not answer, and why,
// as -o json|yaml carries them (printing.FailedClustersAnnotation).
func failuresOf[T any](f *fleet.Fleet, results []fleet.Result[T]) []printing.Failure {
	var out []printing.Failure
	for _, r := range results {
		if r.Err != nil {
			out = append(out, printing.Failure{Cluster: r.Cluster, Reason: f.Reason(r.Err)})
		}
	}
	return out
}

// listOutput is the output of a command's --list: its tables and Lists.
func listOutput(p *genericclioptions.PrintFlags, noHeaders bool) printing.Output {
	return printing.OutputOfGeneric(p, noHeaders, "")
}

// printerFor is the -o printer with kubectl's verb for what was done
// ("labeled", "configured", with " (dry run)" under --dry-run), made from a
// copy: the command's print flags stay as the user gave them.
func printerFor(p *genericclioptions.PrintFlags, operation string, dryRun cmdutil.DryRunStrategy) (printers.ResourcePrinter, error) {
	c := *p
	names := *p.NamePrintFlags
	c.NamePrintFlags = &names
	c.NamePrintFlags.Operation = operation
	cmdutil.PrintFlagsWithDryRunStrategy(&c, dryRun)
	return c.ToPrinter()
}
