package openmcp

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/resource"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// randomDeployTable has rows of random widths, empty, wide-character and
// missing cells, labels, so that columns are set by any cluster's rows.
func randomDeployTable(rng *rand.Rand, ns string, rows int) *metav1.Table {
	words := []string{"", "web", "a-much-longer-deployment-name", "日本語", "élan", "1/1", "10/10"}
	t := deployTable(ns)
	for i := range rows {
		name := fmt.Sprintf("%s-%d", words[1+rng.Intn(len(words)-1)], i)
		var images any = words[rng.Intn(len(words))]
		if rng.Intn(5) == 0 {
			images = nil
		}
		cells := []any{name, words[rng.Intn(len(words))], int64(rng.Intn(1000)), int64(rng.Intn(3)), "5d", images}
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": words[rng.Intn(len(words))]}}}
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: m}})
	}
	return t
}

// Printed as each cluster answers, the table is the one printed when every
// answer is in, byte for byte: columns as wide as the widest cell of any
// cluster (a later cluster's longer name included), headers once.
func TestStreamedTableIsTheCollectedTable(t *testing.T) {
	for _, flags := range [][]string{{}, {"wide"}, {"A"}, {"labels"}, {"A", "wide", "labels"}, {"svc"}} {
		for seed := range 20 {
			rng := rand.New(rand.NewSource(int64(seed)))
			var results []fleet.Result[clusterAnswer]
			for c := range 3 + rng.Intn(10) {
				infos := []*resource.Info{{Mapping: deployMapping, Object: randomDeployTable(rng, fmt.Sprintf("ns%d", rng.Intn(3)), rng.Intn(8))}}
				if slicesContain(flags, "svc") {
					infos = append(infos, &resource.Info{Mapping: svcMapping, Object: svcTable("web", strings.Repeat("s", rng.Intn(20)))})
				}
				results = append(results, answerOf(fmt.Sprintf("cluster%d", c+1), infos...))
			}
			// In the order get asks them, by name (cluster10 before cluster2).
			slices.SortFunc(results, func(a, b fleet.Result[clusterAnswer]) int { return strings.Compare(a.Cluster, b.Cluster) })
			print := func(stream bool) string {
				tf := bareOutput()
				format := ""
				if slicesContain(flags, "wide") {
					format = "wide"
				}
				o := getOptions(tf, format)
				o.AllNamespaces = slicesContain(flags, "A")
				if o.AllNamespaces {
					_ = o.PrintFlags.EnsureWithNamespace()
				}
				showLabels := slicesContain(flags, "labels")
				o.PrintFlags.HumanReadableFlags.ShowLabels = &showLabels
				if !stream {
					if err := o.printTables(copyResults(results)); err != nil {
						t.Fatal(err)
					}
					return tf.out.String()
				}
				sink, err := o.newSink()
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range copyResults(results) {
					if err := sink.add(r.Cluster, r.Value); err != nil {
						t.Fatal(err)
					}
				}
				if err := sink.finish(nil); err != nil {
					t.Fatal(err)
				}
				return tf.out.String()
			}
			if got, want := print(true), print(false); got != want {
				t.Fatalf("flags %v, seed %d: streamed\n%s\ncollected\n%s", flags, seed, got, want)
			}
		}
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// copyResults: printing sanitises and decorates the tables it is given.
func copyResults(rs []fleet.Result[clusterAnswer]) []fleet.Result[clusterAnswer] {
	out := make([]fleet.Result[clusterAnswer], len(rs))
	for i, r := range rs {
		var infos []*resource.Info
		for _, info := range r.Value.infos {
			c := *info
			c.Object = info.Object.DeepCopyObject()
			infos = append(infos, &c)
		}
		out[i] = answerOf(r.Cluster, infos...)
	}
	return out
}

// -o name prints the names from the Tables it asked for, whatever other
// flag is given (--sort-by, which -o name does not apply, included).
func TestNamesArePrintedFromTablesWithSortBy(t *testing.T) {
	tf := bareOutput()
	o := getOptions(tf, "name")
	o.sortBy = "{.metadata.name}"
	sink, err := o.newSink()
	if err != nil {
		t.Fatal(err)
	}
	r := answerOf("cluster1", &resource.Info{Mapping: deployMapping, Object: deployTable("web", []any{"web", "1/1", int64(1), int64(1), "2d", "nginx"})})
	if err := sink.add(r.Cluster, r.Value); err != nil {
		t.Fatal(err)
	}
	if err := sink.finish(nil); err != nil {
		t.Fatal(err)
	}
	if tf.out.String() != "cluster1/deployment.apps/web\n" {
		t.Fatalf("-o name --sort-by printed %q", tf.out.String())
	}
}
