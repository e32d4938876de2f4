package openmcp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/manifest"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

func TestDeleteRejectsBadFlagsBeforeAnyRequest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"delete"}, "no manifests given"},
		{[]string{"delete", "-f", "x.yaml", "--federation", "istio"}, `invalid --federation "istio": allowed values are openmcp, kubefed`},
		{[]string{"delete", "-f", "x.yaml", "-o", "yaml"}, `invalid --output "yaml"`},
		{[]string{"delete", "-f", "x.yaml", "--wait", "--timeout", "0s"}, "invalid --timeout 0s: must be more than 0"},
		{[]string{"delete", "-f", "x.yaml", "--wait", "--timeout", "-5s"}, "invalid --timeout -5s"},
		{[]string{"delete", "-f", "x.yaml", "--timeout", "1m"}, "--timeout 1m0s bounds --wait: add --wait"},
		{[]string{"delete", "-f", "x.yaml", "--wait", "--dry-run=server"}, "--wait with --dry-run"},
		{[]string{"delete", "-f", "x.yaml", "--dry-run=maybe"}, "Invalid dry-run value (maybe)"},
		{[]string{"delete", "-f", "x.yaml", "--timeout", "soon"}, `invalid argument "soon" for "--timeout"`},
		{[]string{"delete", "nginx"}, "unknown command"},
	} {
		code, out, errOut := runOpenMCP(t, tc.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", tc.args, code, errOut)
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
		if strings.Contains(errOut, "127.0.0.1:1") || strings.Contains(errOut, "connection refused") {
			t.Errorf("%v: dialled a cluster before validating: %q", tc.args, errOut)
		}
		if out != "" {
			t.Errorf("%v: stdout %q", tc.args, out)
		}
	}
}

var (
	odeployGVR = schema.GroupVersionResource{Group: "openmcp.k8s.io", Version: "v1alpha1", Resource: "openmcpdeployments"}
	osvcGVR    = schema.GroupVersionResource{Group: "openmcp.k8s.io", Version: "v1alpha1", Resource: "openmcpservices"}
	deployGVR  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	svcGVR     = schema.GroupVersionResource{Version: "v1", Resource: "services"}
)

func fakeDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		odeployGVR: "OpenMCPDeploymentList", osvcGVR: "OpenMCPServiceList", deployGVR: "DeploymentList", svcGVR: "ServiceList",
		podMetricsGVR: "PodMetricsList", nodeMetricsGVR: "NodeMetricsList",
	}, objs...)
}

func obj(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetUID(types.UID("uid-" + name))
	return u
}

const deleteNginx = `apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx, labels: {app: nginx}}
spec:
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec: {selector: {app: nginx}, ports: [{port: 80}]}
`

func deleteOptions(dyn dynamic.Interface, stdin string) (*DeleteOptions, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	o := &DeleteOptions{
		Filenames: []string{"-"}, Federation: federationOpenMCP, Timeout: time.Second, pollInterval: 10 * time.Millisecond,
		namespace: "web",
		hostc:     &fleet.Clients{Dynamic: dyn},
		IOStreams: genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
	}
	o.fleet = fleet.NewForClusters(fleet.NewClusterWithClients("openmcp", "openmcp", o.hostc), fleet.DefaultKubeFedNamespace, nil, &errOut)
	return o, &out, &errOut
}

// A plain Deployment and Service name the OpenMCP objects place made of
// them; both are deleted in kubectl's words.
func TestDeleteConvertsAsPlaceDoes(t *testing.T) {
	dyn := fakeDynamic(obj("openmcp.k8s.io/v1alpha1", "OpenMCPDeployment", "web", "nginx"), obj("openmcp.k8s.io/v1alpha1", "OpenMCPService", "web", "nginx"))
	o, out, errOut := deleteOptions(dyn, deleteNginx)
	if err := o.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, errOut)
	}
	want := "openmcpdeployment.openmcp.k8s.io \"nginx\" deleted\nopenmcpservice.openmcp.k8s.io \"nginx\" deleted\n"
	if out.String() != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	var deletes []k8stesting.DeleteAction
	for _, a := range dyn.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok {
			deletes = append(deletes, d)
		}
	}
	if len(deletes) != 2 {
		t.Fatalf("%d deletes, want 2: %v", len(deletes), dyn.Actions())
	}
	for _, d := range deletes {
		opts := d.GetDeleteOptions()
		if opts.PropagationPolicy == nil || *opts.PropagationPolicy != metav1.DeletePropagationBackground {
			t.Errorf("delete %s: propagation %v, want Background", d.GetName(), opts.PropagationPolicy)
		}
		if opts.Preconditions == nil || opts.Preconditions.UID == nil || *opts.Preconditions.UID != "uid-nginx" {
			t.Errorf("delete %s: no UID precondition: %+v", d.GetName(), opts.Preconditions)
		}
	}
}

// One object missing: each missing one is reported as kubectl does and
// nothing is deleted; --ignore-not-found deletes the rest.
func TestDeleteChecksEverythingFirst(t *testing.T) {
	dyn := fakeDynamic(obj("openmcp.k8s.io/v1alpha1", "OpenMCPService", "web", "nginx"))
	o, out, errOut := deleteOptions(dyn, deleteNginx)
	err := o.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "nothing was deleted: 1 of 2 objects not found") {
		t.Fatalf("Run: %v", err)
	}
	if want := "Error from server (NotFound): openmcpdeployments.openmcp.k8s.io \"nginx\" not found\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if out.Len() != 0 {
		t.Errorf("stdout %q", out)
	}
	for _, a := range dyn.Actions() {
		if a.GetVerb() == "delete" {
			t.Errorf("deleted despite the missing object: %v", a)
		}
	}

	o, out, errOut = deleteOptions(dyn, deleteNginx)
	o.IgnoreNotFound, o.Output = true, "name"
	if err := o.Run(context.Background()); err != nil {
		t.Fatalf("--ignore-not-found: %v %q", err, errOut)
	}
	if out.String() != "openmcpservice.openmcp.k8s.io/nginx\n" || errOut.Len() != 0 {
		t.Errorf("--ignore-not-found -o name: stdout %q stderr %q", out, errOut)
	}
}

// Ctrl-C between two deletes: the first stays deleted, the second is not
// sent, and the error says which is which.
func TestDeleteStopsBetweenObjectsAtCtrlC(t *testing.T) {
	dyn := fakeDynamic(obj("openmcp.k8s.io/v1alpha1", "OpenMCPDeployment", "web", "nginx"), obj("openmcp.k8s.io/v1alpha1", "OpenMCPService", "web", "nginx"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dyn.PrependReactor("delete", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		cancel() // Ctrl-C while the first delete is on its way
		return false, nil, nil
	})
	o, out, _ := deleteOptions(dyn, deleteNginx)
	err := o.Run(ctx)
	var intr *cli.InterruptedError
	if !errors.As(err, &intr) {
		t.Fatalf("Run: %v, want an interruption", err)
	}
	if want := "delete stopped: deleted: openmcpdeployment.openmcp.k8s.io/nginx; not deleted: openmcpservice.openmcp.k8s.io/nginx"; intr.Msg != want {
		t.Errorf("message %q, want %q", intr.Msg, want)
	}
	if out.String() != "openmcpdeployment.openmcp.k8s.io \"nginx\" deleted\n" {
		t.Errorf("stdout %q", out)
	}
	if _, err := dyn.Resource(osvcGVR).Namespace("web").Get(context.Background(), "nginx", metav1.GetOptions{}); err != nil {
		t.Errorf("the OpenMCPService was touched: %v", err)
	}
	if _, err := dyn.Resource(odeployGVR).Namespace("web").Get(context.Background(), "nginx", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the OpenMCPDeployment is not deleted: %v", err)
	}
}

// A client dry run reads but never deletes.
func TestDeleteClientDryRunDeletesNothing(t *testing.T) {
	dyn := fakeDynamic(obj("openmcp.k8s.io/v1alpha1", "OpenMCPDeployment", "web", "nginx"), obj("openmcp.k8s.io/v1alpha1", "OpenMCPService", "web", "nginx"))
	o, out, _ := deleteOptions(dyn, deleteNginx)
	o.DryRun = write.DryRunClient
	if err := o.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "openmcpservice.openmcp.k8s.io \"nginx\" deleted (dry run)\n") {
		t.Errorf("stdout %q", out)
	}
	for _, a := range dyn.Actions() {
		if a.GetVerb() != "get" {
			t.Errorf("dry run sent %s", a.GetVerb())
		}
	}
}

// The member-side wait works from a plain member list, for OpenMCP's and
// KubeFed's placement alike: it reports what each member still has, and
// when it is gone.
func TestWaitGoneReportsMembersUntilClear(t *testing.T) {
	c1 := fakeDynamic(obj("apps/v1", "Deployment", "web", "nginx"), obj("v1", "Service", "web", "nginx"))
	c2 := fakeDynamic()
	members := []fleet.Member{{Name: "cluster1", Context: "cluster1"}, {Name: "cluster2", Context: "cluster2"}, {Name: "cluster3"}}
	clients := map[string]dynamic.Interface{"cluster1": c1, "cluster2": c2}
	refs := []objectRef{{GVR: deployGVR, Namespace: "web", Name: "nginx"}, {GVR: svcGVR, Namespace: "web", Name: "nginx"}}
	clusters, warnings := memberWaitClusters(members, func(m fleet.Member) (dynamic.Interface, error) { return clients[m.Name], nil }, refs)
	if len(clusters) != 2 || len(warnings) != 1 || !strings.Contains(warnings[0], "cluster cluster3 has no context") {
		t.Fatalf("clusters %v, warnings %v", clusters, warnings)
	}

	// Still there at the deadline: the error names what is left where.
	var w bytes.Buffer
	err := waitGone(context.Background(), &w, clusters, 100*time.Millisecond, 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not gone within 100ms: cluster1: deployments.apps/web/nginx, services/web/nginx") {
		t.Errorf("timeout: %v", err)
	}
	for _, want := range []string{"  cluster1: deployments.apps/web/nginx, services/web/nginx\n", "  cluster2: none left\n"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("progress %q lacks %q", w.String(), want)
		}
	}

	// The member removes them one by one: each change is one line.
	w.Reset()
	go func() {
		time.Sleep(30 * time.Millisecond)
		_ = c1.Resource(deployGVR).Namespace("web").Delete(context.Background(), "nginx", metav1.DeleteOptions{})
		time.Sleep(30 * time.Millisecond)
		_ = c1.Resource(svcGVR).Namespace("web").Delete(context.Background(), "nginx", metav1.DeleteOptions{})
	}()
	if err := waitGone(context.Background(), &w, clusters, 5*time.Second, 5*time.Millisecond); err != nil {
		t.Fatalf("wait: %v", err)
	}
	got := w.String()
	for _, want := range []string{"  cluster1: deployments.apps/web/nginx, services/web/nginx\n", "  cluster1: services/web/nginx\n", "  cluster1: none left\n", "gone from cluster1, cluster2 ("} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}

	// Ctrl-C while waiting is an interruption, not a timeout.
	c1 = fakeDynamic(obj("apps/v1", "Deployment", "web", "nginx"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	err = waitGone(ctx, &w, []waitCluster{{Name: "cluster1", Dynamic: c1, Refs: refs[:1]}}, 5*time.Second, 5*time.Millisecond)
	var intr *cli.InterruptedError
	if !errors.As(err, &intr) || !strings.Contains(intr.Msg, "stopped waiting; still there: cluster1: deployments.apps/web/nginx") {
		t.Errorf("Ctrl-C: %v", err)
	}
}

func TestServerTextKeepsOneLine(t *testing.T) {
	if got := serverText("bad\x1b[31m red\nnext\u202eline"); got != "bad [31m red next line" {
		t.Errorf("%q", got)
	}
}

// The member objects of an OpenMCP kind are what its controller writes.
func TestOpenMCPMemberResource(t *testing.T) {
	for kind, want := range map[string]string{"OpenMCPDeployment": "deployments", "OpenMCPService": "services", "OpenMCPPolicy": ""} {
		gvr, _ := openMCPMemberResource(kind)
		if gvr.Resource != want {
			t.Errorf("%s: %v, want %q", kind, gvr, want)
		}
	}
}

// chartFTCs are KubeFed's own FederatedTypeConfigs for deployments and
// namespaces, as objects on a fake host.
func chartFTCs(t *testing.T, names ...string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "pkg", "kubefedtypes", "testdata", "kubefed-chart-ftcs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []runtime.Object
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(names, u.GetName()) {
			u.SetNamespace(fleet.DefaultKubeFedNamespace)
			out = append(out, &u)
		}
	}
	return out
}

// In KubeFed mode the targets are the Federated<Kind> objects place wrote;
// the FederatedNamespace place may have made for their namespace is not one
// of them, but a Namespace the file names is (in its own namespace, where
// KubeFed reads it), last. A kind KubeFed does not federate is missing.
func TestDeleteKubeFedTargets(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		{Group: "core.kubefed.io", Version: "v1beta1", Resource: "federatedtypeconfigs"}: "FederatedTypeConfigList",
	}, chartFTCs(t, "deployments.apps", "namespaces")...)
	o, _, _ := deleteOptions(dyn, "")
	o.Federation = federationKubeFed
	docs, err := manifest.ParseManifest("-", strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"+deleteNginx))
	if err != nil {
		t.Fatal(err)
	}
	targets, missing, _, err := o.targets(context.Background(), docs, manifest.Options{Namespace: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range targets {
		got = append(got, tg.GVR.Resource+" "+tg.Object.GetNamespace()+"/"+tg.Object.GetName()+" -> "+tg.Member.String())
	}
	want := []string{
		"federateddeployments web/nginx -> deployments.apps/web/nginx",
		"federatednamespaces shop/shop -> namespaces/shop",
	}
	if !slices.Equal(got, want) {
		t.Errorf("targets\n%v\nwant\n%v", got, want)
	}
	if len(missing) != 1 || !strings.Contains(missing[0], "<stdin>, document 3: Service nginx is not federated: KubeFed has no FederatedTypeConfig for Service in kube-federation-system") {
		t.Errorf("missing %q", missing)
	}
}
