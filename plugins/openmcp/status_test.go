package openmcp

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// plannedDeployment is an OpenMCPDeployment the scheduler placed: 2
// replicas on cluster1, 1 on cluster2.
func plannedDeployment() *unstructured.Unstructured {
	u := obj("openmcp.k8s.io/v1alpha1", "OpenMCPDeployment", "openmcp", "web")
	_ = unstructured.SetNestedField(u.Object, int64(3), "spec", "replicas")
	_ = unstructured.SetNestedField(u.Object, true, "status", "schedulingComplete")
	_ = unstructured.SetNestedMap(u.Object, map[string]any{"cluster1": int64(2), "cluster2": int64(1)}, "status", "clusterMaps")
	return u
}

// memberDeployment is the Deployment OpenMCP's sync controller wrote on a member.
func memberDeployment(replicas, ready, available, updated int64) *unstructured.Unstructured {
	u := obj("apps/v1", "Deployment", "openmcp", "web")
	_ = unstructured.SetNestedField(u.Object, replicas, "spec", "replicas")
	_ = unstructured.SetNestedField(u.Object, ready, "status", "readyReplicas")
	_ = unstructured.SetNestedField(u.Object, available, "status", "availableReplicas")
	_ = unstructured.SetNestedField(u.Object, updated, "status", "updatedReplicas")
	return u
}

// threeMembers: cluster1 runs its 2 replicas, cluster2 has its 1 not ready
// yet, cluster3 is joined but not planned.
func threeMembers() []fakeMember {
	return []fakeMember{
		{name: "cluster1", region: "AS", zone: "KR", dyn: []runtime.Object{memberDeployment(2, 2, 2, 2)}},
		{name: "cluster2", region: "EU", zone: "DE", dyn: []runtime.Object{memberDeployment(1, 0, 0, 1)}},
		{name: "cluster3", region: "AS", zone: "JP"},
	}
}

func statusOptions(tf *testFleet) *StatusOptions {
	kind, _ := openmcpapi.KindByName("openmcpdeployment")
	return &StatusOptions{
		IOStreams: tf.streams(),
		Kind:      kind, Name: "web", namespace: "openmcp",
		Selection: fleet.NewSelectionFlags(false, false),
		FanOut:    fleet.NewFanOutFlags(),
		fleet:     tf.fleet, hostc: tf.hostc,
	}
}

func runStatus(t *testing.T, o *StatusOptions) error {
	t.Helper()
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return o.Run(background)
}

func TestStatusShowsPlanBesideMembers(t *testing.T) {
	tf := newTestFleet(t, threeMembers(), plannedDeployment())
	if err := runStatus(t, statusOptions(tf)); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, tf.errOut)
	}
	want := []string{
		`openmcpdeployment.openmcp.k8s.io openmcp/web on host "openmcp"`,
		"CLUSTER PLANNED DESIRED READY AVAILABLE UP-TO-DATE",
		"cluster1 2 2 2 2 2",
		"cluster2 1 1 0 0 1",
		"cluster3 - <absent> <absent> <absent> <absent>",
		"2/3 replicas ready in 2 clusters",
	}
	if got := lines(tf.out.String()); !slices.Equal(got, want) {
		t.Errorf("stdout\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tf.errOut.Len() != 0 {
		t.Errorf("stderr %q", tf.errOut)
	}
}

// A member that cannot be read shows <unknown>, gets one warning, and the
// exit code is 1; the verdict counts only what was read.
func TestStatusMemberFails(t *testing.T) {
	tf := newTestFleet(t, threeMembers(), plannedDeployment())
	tf.dyn["cluster2"].PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 10.0.9.9:6443: connect: connection refused")
	})
	wantExit1(t, runStatus(t, statusOptions(tf)))
	got := lines(tf.out.String())
	if len(got) != 6 || got[3] != "cluster2 1 <unknown> <unknown> <unknown> <unknown>" || got[5] != "2/3 replicas ready in 2 clusters" {
		t.Errorf("stdout\n%s", tf.out)
	}
	if want := "Warning: cluster cluster2: dial tcp 10.0.9.9:6443: connect: connection refused\n"; tf.errOut.String() != want {
		t.Errorf("stderr %q, want %q", tf.errOut, want)
	}
}

// -C narrows the plan and the members to the matching clusters.
func TestStatusClusterSelector(t *testing.T) {
	tf := newTestFleet(t, threeMembers(), plannedDeployment())
	o := statusOptions(tf)
	o.Selection.Selector = fleet.RegionLabel + "=AS"
	if err := runStatus(t, o); err != nil {
		t.Fatal(err)
	}
	got := lines(tf.out.String())
	want := []string{"cluster1 2 2 2 2 2", "cluster3 - <absent> <absent> <absent> <absent>", "2/2 replicas ready in 1 clusters"}
	if len(got) != 5 || !slices.Equal(got[2:], want) {
		t.Errorf("stdout\n%s\nwant rows\n%s", tf.out, strings.Join(want, "\n"))
	}
	if n := len(tf.dyn["cluster2"].Actions()); n != 0 {
		t.Errorf("cluster2 does not match and was asked: %v", tf.dyn["cluster2"].Actions())
	}
}

// Not scheduled yet: the verdict says where to look.
func TestStatusNotScheduled(t *testing.T) {
	pending := obj("openmcp.k8s.io/v1alpha1", "OpenMCPDeployment", "openmcp", "web")
	tf := newTestFleet(t, threeMembers()[:1], pending)
	if err := runStatus(t, statusOptions(tf)); err != nil {
		t.Fatal(err)
	}
	if got := lines(tf.out.String()); got[len(got)-1] != "not scheduled: status.clusterMaps is empty (is OpenMCP's scheduler running in namespace openmcp?)" {
		t.Errorf("stdout\n%s", tf.out)
	}
}

// The resource missing on the host is an error naming the host.
func TestStatusMissingOnHost(t *testing.T) {
	tf := newTestFleet(t, threeMembers())
	err := runStatus(t, statusOptions(tf))
	if err == nil || !strings.Contains(err.Error(), `host "openmcp": `) || !strings.Contains(err.Error(), `"web" not found`) {
		t.Errorf("Run: %v", err)
	}
}
