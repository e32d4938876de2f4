package openmcp

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// The command tests below run the commands' Validate and Run against a
// Fleet of fake clusters (fleet.NewForClusters), as kubectl's cmd tests run
// against a test factory: what the command asks, prints and exits with is
// checked in milliseconds. What only real apiservers show (server-side
// dry run, field managers, RBAC, discovery) stays with the sandbox e2e.

// fakeMember is one member of a fake federation.
type fakeMember struct {
	name, region, zone string
	platform           string
	kube               []runtime.Object // for the typed client: nodes, ConfigMaps, Services
	dyn                []runtime.Object // for the dynamic client: Deployments, ...
}

// testFleet is a host and its members, all fake, and the output of a run.
type testFleet struct {
	fleet  *fleet.Fleet
	host   *dynamicfake.FakeDynamicClient
	hostc  *fleet.Clients
	kube   map[string]*kubefake.Clientset
	dyn    map[string]*dynamicfake.FakeDynamicClient
	out    *bytes.Buffer
	errOut *bytes.Buffer
}

func (tf *testFleet) streams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: strings.NewReader(""), Out: tf.out, ErrOut: tf.errOut}
}

var (
	openMCPClusterGVR = openmcpapi.ClusterKind.GVR()
	ingressGVR        = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
)

// hostListKinds are the lists a fake host answers.
var hostListKinds = map[schema.GroupVersionResource]string{
	fleet.KubeFedClusters: "KubeFedClusterList",
	odeployGVR:            "OpenMCPDeploymentList",
	osvcGVR:               "OpenMCPServiceList",
	openMCPClusterGVR:     "OpenMCPClusterList",
}

// kubeFedCluster is the host's record of a member, as kubefedctl join and
// `kubectl openmcp label` leave it: region and zone labels, an endpoint, Ready.
func kubeFedCluster(m fakeMember) *unstructured.Unstructured {
	u := obj("core.kubefed.io/v1beta1", "KubeFedCluster", fleet.DefaultKubeFedNamespace, m.name)
	labels := map[string]string{}
	if m.region != "" {
		labels[fleet.RegionLabel] = m.region
	}
	if m.zone != "" {
		labels[fleet.ZoneLabel] = m.zone
	}
	if m.platform != "" {
		labels[fleet.PlatformLabel] = m.platform
	}
	u.SetLabels(labels)
	u.SetAnnotations(map[string]string{fleet.ContextAnnotation: m.name})
	_ = unstructured.SetNestedField(u.Object, "https://"+m.name+".example:6443", "spec", "apiEndpoint")
	_ = unstructured.SetNestedField(u.Object, m.name+"-token", "spec", "secretRef", "name")
	_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{
		"type": "Ready", "status": "True", "lastProbeTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z",
	}}, "status", "conditions")
	_ = unstructured.SetNestedField(u.Object, "v1.31.0", "status", "kubernetesVersion")
	return u
}

// newTestFleet is a host listing members as KubeFedClusters, each member a
// pair of fake clients reached through a context of its name. hostObjs are
// more objects on the host (OpenMCPDeployments, ...).
func newTestFleet(t *testing.T, members []fakeMember, hostObjs ...runtime.Object) *testFleet {
	t.Helper()
	tf := &testFleet{kube: map[string]*kubefake.Clientset{}, dyn: map[string]*dynamicfake.FakeDynamicClient{}, out: &bytes.Buffer{}, errOut: &bytes.Buffer{}}
	objs := append([]runtime.Object{}, hostObjs...)
	var clusters []*fleet.Cluster
	for _, m := range members {
		objs = append(objs, kubeFedCluster(m))
		tf.kube[m.name] = kubefake.NewClientset(m.kube...)
		tf.dyn[m.name] = fakeDynamic(m.dyn...)
		clusters = append(clusters, fleet.NewClusterWithClients(m.name, m.name, &fleet.Clients{Kube: tf.kube[m.name], Dynamic: tf.dyn[m.name]}))
	}
	tf.host = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), hostListKinds, objs...)
	tf.hostc = &fleet.Clients{Kube: kubefake.NewClientset(), Dynamic: tf.host}
	tf.fleet = fleet.NewForClusters(fleet.NewClusterWithClients("openmcp", "openmcp", tf.hostc), fleet.DefaultKubeFedNamespace, clusters, tf.errOut)
	return tf
}

// failNodes makes a member's node list fail as an unreachable member does.
func (tf *testFleet) failNodes(member string) {
	tf.kube[member].PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 10.0.9.9:6443: connect: connection refused")
	})
}

// writes are the actions of a fake client that change something.
func writes(actions []k8stesting.Action) []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range actions {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a)
		}
	}
	return out
}

// node is a member's node with region and zone labels (GA and beta, as
// cloud providers set them) and its capacity.
func node(name, region, zone, cpu, memory string, controlPlane bool) *corev1.Node {
	labels := map[string]string{"kubernetes.io/hostname": name}
	if region != "" {
		labels[fleet.RegionLabel] = region
		labels["failure-domain.beta.kubernetes.io/region"] = region
	}
	if zone != "" {
		labels[fleet.ZoneLabel] = zone
		labels["failure-domain.beta.kubernetes.io/zone"] = zone
	}
	if controlPlane {
		labels["node-role.kubernetes.io/control-plane"] = ""
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if cpu != "" {
		n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory)}
	}
	return n
}

// lines are out's lines with runs of spaces made one, so a table's rows
// read as "cluster1 node-a AS KR" whatever the column widths.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		ls = append(ls, strings.Join(strings.Fields(l), " "))
	}
	return ls
}

// wantExit1 checks that a run that lost a cluster exits 1 without a
// message of its own (the warnings said why).
func wantExit1(t *testing.T, err error) {
	t.Helper()
	var silent *cli.SilentError
	if !errors.As(err, &silent) || silent.Code != cli.ExitError {
		t.Errorf("Run: %v (%T), want a SilentError with exit code %d", err, err, cli.ExitError)
	}
}

var background = context.Background()
