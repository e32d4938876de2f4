package e2e

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

func mcksTopo(csp, region, zone string) map[string]string {
	l := map[string]string{topology.CSPLabel: csp, topology.RegionLabel: region}
	if zone != "" {
		l[topology.ZoneLabel] = zone
	}
	return l
}

// mcksRows splits a table into rows of fields, header first.
func mcksRows(t *testing.T, out string) [][]string {
	t.Helper()
	var rows [][]string
	for _, l := range lines(out) {
		rows = append(rows, strings.Fields(l))
	}
	if len(rows) == 0 {
		t.Fatalf("no table in %q", out)
	}
	return rows
}

// mcksRow finds the row whose first field is name.
func mcksRow(t *testing.T, rows [][]string, name string) []string {
	t.Helper()
	for _, r := range rows[1:] {
		if r[0] == name {
			return r
		}
	}
	t.Fatalf("no row %s in %v", name, rows)
	return nil
}

func mcksRun(t *testing.T, fed *sandbox.Federation, args ...string) sandbox.Result {
	t.Helper()
	res := fed.MCKS(t, append(args, "--context", "cluster1")...)
	t.Logf("kubectl mcks %s: exit %d\n%s%s", strings.Join(args, " "), res.Code, res.Stdout, res.Stderr)
	return res
}

// A member whose nodes come from three clouds in several regions, made
// through the API: the tables, label and place against the real apiserver.
func TestMCKSClusterSide(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 1})
	m := fed.Member("cluster1")
	ctx := context.Background()
	m.CreateNodes(t,
		sandbox.Node{Name: "aws-seoul-1", Labels: mcksTopo("aws", "ap-northeast-2", "ap-northeast-2a"), Roles: []string{"control-plane"}, InternalIP: "3.34.1.10", ExternalIP: "3.34.1.10", Ready: true},
		sandbox.Node{Name: "aws-seoul-2", Labels: mcksTopo("aws", "ap-northeast-2", "ap-northeast-2c"), Roles: []string{"worker"}, InternalIP: "3.34.1.11", ExternalIP: "3.34.1.11", Ready: true},
		sandbox.Node{Name: "aws-virginia-1", Labels: mcksTopo("aws", "us-east-1", "us-east-1a"), Roles: []string{"worker"}, InternalIP: "54.80.1.1", ExternalIP: "54.80.1.1", Ready: true},
		sandbox.Node{Name: "gcp-london-1", Labels: mcksTopo("gcp", "europe-west2", "europe-west2-a"), Roles: []string{"worker"}, InternalIP: "35.189.1.1", ExternalIP: "35.189.1.1", Ready: true},
		// Rebooted with a new public IP: the kubelet still announces the old one.
		sandbox.Node{Name: "gcp-london-2", Labels: mcksTopo("gcp", "europe-west2", "europe-west2-b"), Roles: []string{"worker"}, InternalIP: "35.189.9.9", ExternalIP: "35.189.1.2", Ready: true},
		sandbox.Node{Name: "azure-korea-1", Labels: mcksTopo("azure", "koreacentral", ""), Roles: []string{"worker"}, InternalIP: "20.41.1.1", ExternalIP: "20.41.1.1", Ready: true},
		sandbox.Node{Name: "stray-1", Roles: []string{"worker"}, InternalIP: "192.0.2.7", Ready: false},
	)

	t.Run("nodes", func(t *testing.T) {
		res := mcksRun(t, fed, "nodes")
		if res.Code != 0 {
			t.Fatalf("exit %d", res.Code)
		}
		rows := mcksRows(t, res.Stdout)
		if got := strings.Join(rows[0], " "); got != "NAME CSP REGION ZONE ROLE STATUS INTERNAL-IP AGE" {
			t.Errorf("header %q", got)
		}
		if len(rows) != 8 {
			t.Errorf("%d rows, want 7 nodes", len(rows)-1)
		}
		for name, want := range map[string][]string{
			"aws-seoul-1":   {"aws", "ap-northeast-2", "ap-northeast-2a", "control-plane", "Ready", "3.34.1.10"},
			"gcp-london-2":  {"gcp", "europe-west2", "europe-west2-b", "worker", "Ready", "35.189.9.9"},
			"azure-korea-1": {"azure", "koreacentral", "<none>", "worker", "Ready", "20.41.1.1"},
			"stray-1":       {"<none>", "<none>", "<none>", "worker", "NotReady", "192.0.2.7"},
		} {
			if got := mcksRow(t, rows, name)[1:7]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
		warnings := lines(res.Stderr)
		if len(warnings) != 2 ||
			!strings.Contains(res.Stderr, "node stray-1 has no topology.cloud-barista.github.io/csp label") ||
			!strings.Contains(res.Stderr, "node gcp-london-2: INTERNAL-IP 35.189.9.9 is not one of its public addresses (35.189.1.2): node-IP drift") {
			t.Errorf("warnings: want exactly the missing label and the drift, got:\n%s", res.Stderr)
		}

		wide := mcksRows(t, mcksRun(t, fed, "nodes", "-o", "wide").Stdout)
		if r := mcksRow(t, wide, "gcp-london-2"); r[len(r)-1] != "yes" || r[len(r)-3] != "35.189.1.2" {
			t.Errorf("wide drift row %v", r)
		}
		if r := mcksRow(t, wide, "gcp-london-1"); r[len(r)-1] != "no" {
			t.Errorf("wide row without drift %v", r)
		}

		gcp := mcksRows(t, mcksRun(t, fed, "nodes", "-l", topology.CSPLabel+"=gcp").Stdout)
		if len(gcp) != 3 {
			t.Errorf("-l csp=gcp: %v", gcp)
		}
		var list corev1.NodeList
		if err := json.Unmarshal([]byte(mcksRun(t, fed, "nodes", "-o", "json").Stdout), &list); err != nil || len(list.Items) != 7 || list.Kind != "NodeList" {
			t.Errorf("-o json: %v, %d items, kind %q", err, len(list.Items), list.Kind)
		}
	})

	// Pods bound to nodes (no kubelet runs here; they stay Pending where bound).
	shop := "shop"
	if err := m.EnsureNamespace(ctx, shop); err != nil {
		t.Fatal(err)
	}
	for name, node := range map[string]string{"cart-1": "aws-seoul-1", "cart-2": "aws-seoul-2", "pay-1": "gcp-london-1", "queued": ""} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: shop, Labels: map[string]string{"app": strings.TrimRight(name, "-12")}},
			Spec:       corev1.PodSpec{NodeName: node, AutomountServiceAccountToken: ptr.To(false), Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		}
		// The namespace's default ServiceAccount appears a moment after the namespace.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := m.Client.CoreV1().Pods(shop).Create(ctx, pod, metav1.CreateOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
	}

	t.Run("pods", func(t *testing.T) {
		res := mcksRun(t, fed, "pods", "-n", shop)
		if res.Code != 0 {
			t.Fatalf("exit %d", res.Code)
		}
		rows := mcksRows(t, res.Stdout)
		if got := strings.Join(rows[0], " "); got != "NAME READY STATUS RESTARTS NODE CSP REGION ZONE AGE" {
			t.Errorf("header %q", got)
		}
		for name, want := range map[string][]string{
			"cart-1": {"aws-seoul-1", "aws", "ap-northeast-2", "ap-northeast-2a"},
			"pay-1":  {"gcp-london-1", "gcp", "europe-west2", "europe-west2-a"},
			"queued": {"<none>", "<none>", "<none>", "<none>"},
		} {
			if got := mcksRow(t, rows, name)[4:8]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %v, want %v", name, got, want)
			}
		}
		all := mcksRows(t, mcksRun(t, fed, "pods", "-A", "-l", "app=cart").Stdout)
		if all[0][0] != "NAMESPACE" || len(all) != 3 || all[1][0] != shop {
			t.Errorf("-A -l app=cart: %v", all)
		}
	})

	t.Run("summary", func(t *testing.T) {
		res := mcksRun(t, fed, "summary")
		if res.Code != 0 {
			t.Fatalf("exit %d", res.Code)
		}
		rows := mcksRows(t, res.Stdout)
		want := [][]string{
			{"CSP", "REGION", "ZONES", "NODES", "READY", "PODS"},
			{"aws", "ap-northeast-2", "ap-northeast-2a,ap-northeast-2c", "2", "2", "2"},
			{"aws", "us-east-1", "us-east-1a", "1", "1", "0"},
			{"azure", "koreacentral", "<none>", "1", "1", "0"},
			{"gcp", "europe-west2", "europe-west2-a,europe-west2-b", "2", "2", "1"},
			{"<none>", "<none>", "<none>", "1", "0", "0"},
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("summary:\n got %v\nwant %v", rows, want)
		}
		if !strings.Contains(res.Stderr, "1 pods are not scheduled") {
			t.Errorf("stderr %q", res.Stderr)
		}
	})

	t.Run("label", func(t *testing.T) {
		nodeLabels := func(name string) map[string]string {
			n, err := m.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return n.Labels
		}
		before := nodeLabels("aws-seoul-1")
		for _, tc := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"label", "stray-1", "aws-seoul-1", "--csp", "digitalocean"}, 2, `unknown CSP "digitalocean": MCKS knows aws, gcp,`},
			{[]string{"label", "stray-1", "ghost", "--csp", "ncp"}, 1, "nodes not found: ghost (no node was changed)"},
			{[]string{"label", "stray-1", "aws-seoul-1", "--region", "us-west-1"}, 1, "node aws-seoul-1 already has topology.kubernetes.io/region=ap-northeast-2"},
			{[]string{"label", "stray-1", "--csp", "ncp", "--region", "KR", "--dry-run=server"}, 0, "node/stray-1 labeled (server dry run)"},
		} {
			res := mcksRun(t, fed, tc.args...)
			if res.Code != tc.code || !strings.Contains(res.Stdout+res.Stderr, tc.want) {
				t.Errorf("%v: exit %d, want %d and %q", tc.args, res.Code, tc.code, tc.want)
			}
		}
		if l := nodeLabels("stray-1"); l[topology.CSPLabel] != "" || l[topology.RegionLabel] != "" {
			t.Errorf("refused or dry-run label changed stray-1: %v", l)
		}
		if !reflect.DeepEqual(nodeLabels("aws-seoul-1"), before) {
			t.Errorf("refused label changed aws-seoul-1")
		}

		res := mcksRun(t, fed, "label", "stray-1", "--csp", "ncp", "--region", "KR", "--zone", "KR-1")
		if res.Code != 0 || res.Stdout != "node/stray-1 labeled\n" {
			t.Errorf("label stray-1: exit %d %q", res.Code, res.Stdout)
		}
		l := nodeLabels("stray-1")
		for k, v := range map[string]string{topology.CSPLabel: "ncp", topology.RegionLabel: "KR", topology.ZoneLabel: "KR-1", topology.BetaRegionLabel: "KR", topology.BetaZoneLabel: "KR-1"} {
			if l[k] != v {
				t.Errorf("stray-1 %s=%q, want %q", k, l[k], v)
			}
		}
		if res := mcksRun(t, fed, "label", "stray-1", "--csp", "ncp"); res.Stdout != "node/stray-1 unchanged\n" {
			t.Errorf("relabel same value: %q", res.Stdout)
		}
		if res := mcksRun(t, fed, "label", "aws-virginia-1", "--zone", "us-east-1b", "--overwrite"); res.Code != 0 || nodeLabels("aws-virginia-1")[topology.ZoneLabel] != "us-east-1b" {
			t.Errorf("--overwrite: exit %d", res.Code)
		}
		if rows := mcksRows(t, mcksRun(t, fed, "nodes").Stdout); !reflect.DeepEqual(mcksRow(t, rows, "stray-1")[1:4], []string{"ncp", "KR", "KR-1"}) {
			t.Errorf("nodes after label: %v", mcksRow(t, rows, "stray-1"))
		}
	})

	t.Run("place", func(t *testing.T) {
		apps := "apps"
		if err := m.EnsureNamespace(ctx, apps); err != nil {
			t.Fatal(err)
		}
		userAffinity := &corev1.Affinity{
			NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/os", Operator: corev1.NodeSelectorOpIn, Values: []string{"linux"}}},
			}}}},
			PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 50, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "busybox"}}},
			}}},
		}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "busybox", Namespace: apps},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(int32(2)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "busybox"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "busybox"}},
					Spec:       corev1.PodSpec{Affinity: userAffinity, Containers: []corev1.Container{{Name: "busybox", Image: "busybox", Command: []string{"sleep", "3600"}}}},
				},
			},
		}
		if _, err := m.Client.AppsV1().Deployments(apps).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		get := func() *appsv1.Deployment {
			d, err := m.Client.AppsV1().Deployments(apps).Get(ctx, "busybox", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}

		// Refused input changes nothing.
		// The deployment controller writes status meanwhile: compare the template.
		tmpl := get().Spec.Template
		if res := mcksRun(t, fed, "place", "deploy/busybox", "-n", apps, "--csp", "gpc"); res.Code != 2 || !strings.Contains(res.Stderr, `unknown CSP "gpc"`) {
			t.Errorf("unknown CSP: exit %d %q", res.Code, res.Stderr)
		}
		if res := mcksRun(t, fed, "place", "deploy/busybox", "-n", apps, "--csp", "gcp", "--dry-run", "-o", "yaml"); res.Code != 0 || !strings.Contains(res.Stdout, "topology.cloud-barista.github.io/csp") || !strings.Contains(res.Stdout, "kind: Deployment") {
			t.Errorf("client dry run: exit %d\n%s", res.Code, res.Stdout)
		}
		if res := mcksRun(t, fed, "place", "deploy/busybox", "-n", apps, "--csp", "gcp", "--dry-run=server"); res.Code != 0 || !strings.Contains(res.Stdout, "(server dry run)") {
			t.Errorf("server dry run: exit %d %q", res.Code, res.Stdout)
		}
		if got := get().Spec.Template; !reflect.DeepEqual(got, tmpl) {
			t.Errorf("refused or dry-run place changed the pod template: %+v", got.Spec.Affinity)
		}

		// The conference example, spread over clouds: the apiserver accepts it.
		res := mcksRun(t, fed, "place", "deployment/busybox", "-n", apps, "--csp", "gcp", "--region", "europe-west2", "--spread", "csp")
		if res.Code != 0 || !strings.Contains(res.Stdout, "deployment.apps/busybox placed: required csp=gcp, region=europe-west2; spread over csp") {
			t.Fatalf("place: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
		if res.Stderr != "" {
			t.Errorf("unexpected warnings: %q", res.Stderr)
		}
		d := get()
		spec := d.Spec.Template.Spec
		terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		wantExprs := []corev1.NodeSelectorRequirement{
			{Key: "kubernetes.io/os", Operator: corev1.NodeSelectorOpIn, Values: []string{"linux"}},
			{Key: topology.CSPLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"gcp"}},
			{Key: topology.RegionLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"europe-west2"}},
		}
		if len(terms) != 1 || !reflect.DeepEqual(terms[0].MatchExpressions, wantExprs) {
			t.Errorf("stored required terms %+v", terms)
		}
		if !reflect.DeepEqual(spec.Affinity.PodAntiAffinity, userAffinity.PodAntiAffinity) {
			t.Errorf("user's pod anti-affinity changed: %+v", spec.Affinity.PodAntiAffinity)
		}
		if len(spec.TopologySpreadConstraints) != 1 || spec.TopologySpreadConstraints[0].TopologyKey != topology.CSPLabel ||
			!reflect.DeepEqual(spec.TopologySpreadConstraints[0].MatchLabelKeys, []string{"pod-template-hash"}) {
			t.Errorf("stored spread %+v", spec.TopologySpreadConstraints)
		}
		var managed bool
		for _, f := range d.ManagedFields {
			managed = managed || f.Manager == "kubectl-mcks"
		}
		if !managed {
			t.Errorf("no managedFields entry for kubectl-mcks: %+v", d.ManagedFields)
		}

		// Preferred on a cloud with no Ready node: replaces the required terms, warns.
		res = mcksRun(t, fed, "place", "deploy/busybox", "-n", apps, "--csp", "ncp", "--preferred")
		if res.Code != 0 || !strings.Contains(res.Stderr, "no Ready node has csp=ncp: the preference has no effect") {
			t.Errorf("place ncp: exit %d %q", res.Code, res.Stderr)
		}
		spec = get().Spec.Template.Spec
		if got := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions; !reflect.DeepEqual(got, wantExprs[:1]) {
			t.Errorf("required terms after --preferred: %+v", got)
		}
		if p := spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution; len(p) != 1 || p[0].Preference.MatchExpressions[0].Values[0] != "ncp" {
			t.Errorf("preferred %+v", p)
		}

		// --clear gives back what the user wrote.
		if res := mcksRun(t, fed, "place", "deploy/busybox", "-n", apps, "--clear"); res.Code != 0 || !strings.Contains(res.Stdout, "placement cleared") {
			t.Errorf("clear: exit %d %q", res.Code, res.Stdout)
		}
		spec = get().Spec.Template.Spec
		if !reflect.DeepEqual(spec.Affinity, userAffinity) || spec.TopologySpreadConstraints != nil {
			t.Errorf("after --clear:\n got %+v\nwant %+v", spec.Affinity, userAffinity)
		}

		// A CronJob with a spread, and a suspended Job: the apiserver accepts both.
		cj := &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: apps},
			Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			}}}},
		}
		if _, err := m.Client.BatchV1().CronJobs(apps).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if res := mcksRun(t, fed, "place", "cj/nightly", "-n", apps, "--csp", "aws,azure", "--spread", "region"); res.Code != 0 {
			t.Errorf("place cronjob: exit %d %q", res.Code, res.Stderr)
		}
		got, _ := m.Client.BatchV1().CronJobs(apps).Get(ctx, "nightly", metav1.GetOptions{})
		if tsc := got.Spec.JobTemplate.Spec.Template.Spec.TopologySpreadConstraints; len(tsc) != 1 || tsc[0].TopologyKey != topology.RegionLabel {
			t.Errorf("cronjob spread %+v", tsc)
		}
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "once", Namespace: apps},
			Spec: batchv1.JobSpec{Suspend: ptr.To(true), Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			}},
		}
		if _, err := m.Client.BatchV1().Jobs(apps).Create(ctx, job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if res := mcksRun(t, fed, "place", "job/once", "-n", apps, "--csp", "aws", "--region", "us-east-1"); res.Code != 0 {
			t.Errorf("place suspended job: exit %d %q", res.Code, res.Stderr)
		}
		if res := mcksRun(t, fed, "place", "job/once", "-n", apps, "--spread", "csp"); res.Code != 2 || !strings.Contains(res.Stderr, "immutable") {
			t.Errorf("spread on a job: exit %d %q", res.Code, res.Stderr)
		}
		if res := mcksRun(t, fed, "place", "deploy/missing", "-n", apps, "--csp", "aws"); res.Code != 1 || !strings.Contains(res.Stderr, `deployment.apps/missing not found in namespace "apps"`) {
			t.Errorf("missing deployment: exit %d %q", res.Code, res.Stderr)
		}
	})
}
