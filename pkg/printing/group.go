package printing

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GroupTables folds the clusters' tables of one resource type into one row
// per group (groupOf names a cluster's group: its region, zone, or itself):
// how many clusters answered, how many objects they hold and, for
// workloads, their desired, ready and available replicas, read from the
// server's own columns (READY "3/5", DESIRED, AVAILABLE). A TOTAL row ends
// it. by is the group's column name (Region, Zone, Cluster).
func GroupTables(parts []ClusterTable, by string, groupOf func(cluster string) string) *metav1.Table {
	type sums struct {
		clusters                  map[string]bool
		objects                   int
		desired, ready, available int64
		hasReplicas               bool
	}
	newSums := func() *sums { return &sums{clusters: map[string]bool{}} }
	groups := map[string]*sums{}
	total := newSums()
	workload := false
	for _, p := range parts {
		g := groupOf(p.Cluster)
		if groups[g] == nil {
			groups[g] = newSums()
		}
		cols := replicaColumns(p.Table.ColumnDefinitions)
		for _, s := range []*sums{groups[g], total} {
			s.clusters[p.Cluster] = true
			s.objects += len(p.Table.Rows)
		}
		if !cols.any() {
			continue
		}
		workload = true
		for _, r := range p.Table.Rows {
			d, rd, a := cols.read(r.Cells)
			for _, s := range []*sums{groups[g], total} {
				s.desired += d
				s.ready += rd
				s.available += a
			}
		}
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: by, Type: "string"},
		{Name: "Clusters", Type: "integer"},
		{Name: "Objects", Type: "integer"},
	}}
	if workload {
		t.ColumnDefinitions = append(t.ColumnDefinitions,
			metav1.TableColumnDefinition{Name: "Desired", Type: "integer"},
			metav1.TableColumnDefinition{Name: "Ready", Type: "integer"},
			metav1.TableColumnDefinition{Name: "Available", Type: "integer"})
	}
	row := func(name string, s *sums) metav1.TableRow {
		cells := []any{name, int64(len(s.clusters)), int64(s.objects)}
		if workload {
			cells = append(cells, s.desired, s.ready, s.available)
		}
		return metav1.TableRow{Cells: cells}
	}
	for _, g := range names {
		t.Rows = append(t.Rows, row(g, groups[g]))
	}
	t.Rows = append(t.Rows, row("TOTAL", total))
	return t
}

// replicaCols are where a workload table keeps its replica counts.
type replicaCols struct{ ready, desired, available int }

func replicaColumns(cols []metav1.TableColumnDefinition) replicaCols {
	c := replicaCols{-1, -1, -1}
	for i, d := range cols {
		switch strings.ToLower(d.Name) {
		case "ready":
			c.ready = i
		case "desired":
			c.desired = i
		case "available":
			c.available = i
		}
	}
	return c
}

func (c replicaCols) any() bool { return c.ready >= 0 || c.desired >= 0 || c.available >= 0 }

// read takes desired, ready and available from a row: READY is "ready/desired"
// (Deployment, StatefulSet) or a count beside DESIRED (ReplicaSet,
// DaemonSet); AVAILABLE, where the table has none, is READY.
func (c replicaCols) read(cells []any) (desired, ready, available int64) {
	cell := func(i int) string {
		if i < 0 || i >= len(cells) {
			return ""
		}
		return fmt.Sprint(cells[i])
	}
	if r, d, ok := strings.Cut(cell(c.ready), "/"); ok {
		ready, desired = atoi(r), atoi(d)
	} else {
		ready = atoi(cell(c.ready))
	}
	if c.desired >= 0 {
		desired = atoi(cell(c.desired))
	}
	available = ready
	if c.available >= 0 {
		available = atoi(cell(c.available))
	}
	return desired, ready, available
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}
