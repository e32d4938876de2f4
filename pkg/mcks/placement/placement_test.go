package placement

import (
	"context"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// userSpec is a pod spec with affinity the user wrote by hand.
func userSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Image: "busybox"}},
		Affinity: &corev1.Affinity{
			NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{
					{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}}},
					{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"arm64"}}}},
				}},
				PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 10, Preference: corev1.NodeSelectorTerm{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disktype", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}},
				}}},
			},
			PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			}}},
		},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 2, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway}},
	}
}

var webSpread = Spread{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, MatchLabelKeys: []string{"pod-template-hash"}}

func keysOf(term corev1.NodeSelectorTerm) map[string][]string {
	m := map[string][]string{}
	for _, r := range term.MatchExpressions {
		m[r.Key] = r.Values
	}
	return m
}

func TestApplyOnEmptySpecPinsCSPAndRegion(t *testing.T) {
	var spec corev1.PodSpec
	Apply(&spec, Placement{CSPs: []string{"gcp"}, Regions: []string{"europe-west2"}}, webSpread)
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 {
		t.Fatalf("%d terms, want 1", len(terms))
	}
	want := map[string][]string{topology.CSPLabel: {"gcp"}, topology.RegionLabel: {"europe-west2"}}
	if got := keysOf(terms[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("term %v, want %v (csp AND region in one term)", got, want)
	}
	if spec.TopologySpreadConstraints != nil || spec.Affinity.PodAntiAffinity != nil {
		t.Errorf("unexpected extras: %+v", spec)
	}
}

func TestApplyKeepsUserAffinityAndANDsIntoEveryTerm(t *testing.T) {
	spec := userSpec()
	p := Placement{CSPs: []string{"aws"}, Regions: []string{"ap-northeast-2"}, Spread: "csp", MaxSkew: 1}
	Apply(&spec, p, webSpread)

	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 2 {
		t.Fatalf("%d required terms, want the user's 2", len(terms))
	}
	for i, arch := range []string{"amd64", "arm64"} {
		got := keysOf(terms[i])
		want := map[string][]string{"kubernetes.io/arch": {arch}, topology.CSPLabel: {"aws"}, topology.RegionLabel: {"ap-northeast-2"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("term %d: %v, want %v", i, got, want)
		}
	}
	if pref := spec.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution; len(pref) != 1 || pref[0].Weight != 10 {
		t.Errorf("user's preferred term lost: %+v", pref)
	}
	if spec.Affinity.PodAntiAffinity == nil {
		t.Error("user's pod anti-affinity lost")
	}
	spreads := spec.TopologySpreadConstraints
	if len(spreads) != 2 || spreads[0].TopologyKey != "kubernetes.io/hostname" {
		t.Fatalf("spreads %+v: want the user's then ours", spreads)
	}
	ours := spreads[1]
	if ours.TopologyKey != topology.CSPLabel || ours.MaxSkew != 1 || ours.WhenUnsatisfiable != corev1.DoNotSchedule ||
		ours.LabelSelector.MatchLabels["app"] != "web" || !reflect.DeepEqual(ours.MatchLabelKeys, []string{"pod-template-hash"}) {
		t.Errorf("our spread %+v", ours)
	}

	// A second place replaces its own terms, never stacks them.
	Apply(&spec, Placement{CSPs: []string{"gcp"}}, webSpread)
	terms = spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		got := keysOf(terms[i])
		if len(terms[i].MatchExpressions) != 2 || !reflect.DeepEqual(got[topology.CSPLabel], []string{"gcp"}) || got[topology.RegionLabel] != nil {
			t.Errorf("after re-place term %d: %+v", i, terms[i].MatchExpressions)
		}
	}
	if len(spec.TopologySpreadConstraints) != 1 {
		t.Errorf("our spread not removed by a place without --spread: %+v", spec.TopologySpreadConstraints)
	}

	// Clear gives back exactly what the user wrote.
	if !Clear(&spec) {
		t.Error("Clear reported no change")
	}
	if want := userSpec(); !reflect.DeepEqual(spec, want) {
		t.Errorf("after Clear:\n got %+v\nwant %+v", spec, want)
	}
	if Clear(&spec) {
		t.Error("second Clear reported a change")
	}
}

func TestPreferredReplacesRequiredAndClearRemovesAll(t *testing.T) {
	var spec corev1.PodSpec
	Apply(&spec, Placement{CSPs: []string{"aws"}}, webSpread)
	Apply(&spec, Placement{CSPs: []string{"gcp", "azure"}, Preferred: true, Weight: 50}, webSpread)
	na := spec.Affinity.NodeAffinity
	if na.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		t.Errorf("required term of the earlier place kept: %+v", na.RequiredDuringSchedulingIgnoredDuringExecution)
	}
	if len(na.PreferredDuringSchedulingIgnoredDuringExecution) != 1 || na.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight != 50 ||
		!reflect.DeepEqual(na.PreferredDuringSchedulingIgnoredDuringExecution[0].Preference.MatchExpressions[0].Values, []string{"gcp", "azure"}) {
		t.Errorf("preferred %+v", na.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	Clear(&spec)
	if !reflect.DeepEqual(spec, corev1.PodSpec{}) {
		t.Errorf("Clear left %+v", spec)
	}
}

func TestClearKeepsMixedPreferredTermsAndMatchFields(t *testing.T) {
	spec := corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: topology.CSPLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"aws"}}},
			MatchFields:      []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}},
		}}},
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 1, Preference: corev1.NodeSelectorTerm{
			MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: topology.CSPLabel, Operator: corev1.NodeSelectorOpIn, Values: []string{"aws"}},
				{Key: "disktype", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}},
			}}}},
	}}}
	Clear(&spec)
	na := spec.Affinity.NodeAffinity
	term := na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0]
	if len(term.MatchExpressions) != 0 || len(term.MatchFields) != 1 {
		t.Errorf("required term: %+v, want only its matchFields", term)
	}
	if len(na.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("a preferred term mixing user keys was removed")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		p        Placement
		allowAny bool
		want     string
	}{
		{Placement{CSPs: []string{"digitalocean"}}, false, `unknown CSP "digitalocean": MCKS knows aws, gcp, azure, alibaba, tencent, openstack, ibm, cloudit, ncp, ncpvpc, nhncloud (use --allow-any`},
		{Placement{CSPs: []string{"digitalocean"}}, true, ""},
		{Placement{}, false, "nothing to place"},
		{Placement{Spread: "csp", Preferred: true, MaxSkew: 1, Weight: 100}, false, "--preferred needs"},
		{Placement{Regions: []string{"bad value!"}}, false, `invalid --region value "bad value!"`},
		{Placement{Spread: "host", MaxSkew: 1}, false, `invalid --spread "host": allowed values are csp, region, zone`},
		{Placement{Spread: "zone", MaxSkew: 0}, false, "invalid --max-skew 0"},
		{Placement{CSPs: []string{"aws"}, Preferred: true, Weight: 101}, false, "invalid --weight 101"},
		{Placement{CSPs: []string{"aws"}, Regions: []string{"us-east-1"}, Zones: []string{"us-east-1a"}, Spread: "zone", MaxSkew: 1}, false, ""},
	} {
		err := tc.p.Validate(tc.allowAny)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: err %v, want %q", tc.p, err, tc.want)
		}
	}
}

func TestMatchesAndConflicts(t *testing.T) {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{topology.CSPLabel: "gcp", topology.RegionLabel: "europe-west2"}}}
	if !Matches(&n, Placement{CSPs: []string{"aws", "gcp"}, Regions: []string{"europe-west2"}}) {
		t.Error("gcp/europe-west2 node does not match")
	}
	if Matches(&n, Placement{CSPs: []string{"gcp"}, Zones: []string{"europe-west2-a"}}) {
		t.Error("node without zone label matches a zone")
	}
	spec := corev1.PodSpec{NodeSelector: map[string]string{topology.CSPLabel: "aws"}}
	if c := Conflicts(&spec, Placement{CSPs: []string{"gcp"}}); len(c) != 1 || !strings.Contains(c[0], "nodeSelector also requires topology.cloud-barista.github.io/csp=aws") {
		t.Errorf("conflicts %v", c)
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"deploy/web": "deployment.apps/web", "deployment.apps/web": "deployment.apps/web", "deployments/web": "deployment.apps/web",
		"sts/db": "statefulset.apps/db", "ds/agent": "daemonset.apps/agent", "job/once": "job.batch/once",
		"cj/nightly": "cronjob.batch/nightly", "cronjobs.batch/nightly": "cronjob.batch/nightly",
	} {
		got, err := ParseTarget([]string{in})
		if err != nil || got.String() != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	if got, err := ParseTarget([]string{"sts", "db"}); err != nil || got.String() != "statefulset.apps/db" {
		t.Errorf("two args: %v %v", got, err)
	}
	for _, bad := range [][]string{{"pod/x"}, {"web"}, {"deploy/"}, {"svc", "x"}, {"deployment.batch/x"}} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func deployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", ResourceVersion: "7"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: userSpec()},
		},
	}
}

func TestEditPatchesDeploymentAndKeepsUserAffinity(t *testing.T) {
	client := fake.NewClientset(deployment())
	target, _ := ParseTarget([]string{"deploy/web"})
	p := Placement{CSPs: []string{"gcp"}, Regions: []string{"europe-west2"}, Spread: "region", MaxSkew: 1}
	res, err := Edit(context.Background(), client, "prod", target, write.DryRunNone, func(spec *corev1.PodSpec, s Spread) error {
		Apply(spec, p, s)
		return nil
	})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	if !res.Changed || res.Object.GetObjectKind().GroupVersionKind().Kind != "Deployment" {
		t.Errorf("result changed=%v kind %v", res.Changed, res.Object.GetObjectKind().GroupVersionKind())
	}
	got, _ := client.AppsV1().Deployments("prod").Get(context.Background(), "web", metav1.GetOptions{})
	spec := got.Spec.Template.Spec
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 2 || keysOf(terms[0])[topology.CSPLabel][0] != "gcp" || keysOf(terms[1])["kubernetes.io/arch"][0] != "arm64" {
		t.Errorf("stored terms %+v", terms)
	}
	if len(spec.TopologySpreadConstraints) != 2 || spec.Affinity.PodAntiAffinity == nil {
		t.Errorf("stored spec lost the user's parts or our spread: %+v", spec)
	}
	var patched bool
	for _, a := range client.Actions() {
		if a.GetVerb() == "patch" {
			patched = true
		}
	}
	if !patched {
		t.Error("no patch sent")
	}

	// The same placement again changes nothing and sends nothing.
	client.ClearActions()
	res, err = Edit(context.Background(), client, "prod", target, write.DryRunNone, func(spec *corev1.PodSpec, s Spread) error { Apply(spec, p, s); return nil })
	if err != nil || res.Changed {
		t.Errorf("second Edit: changed=%v err=%v", res.Changed, err)
	}
	for _, a := range client.Actions() {
		if a.GetVerb() == "patch" {
			t.Error("an unchanged placement sent a patch")
		}
	}
}

func TestEditClientDryRunWritesNothing(t *testing.T) {
	client := fake.NewClientset(deployment())
	target, _ := ParseTarget([]string{"deployment/web"})
	res, err := Edit(context.Background(), client, "prod", target, write.DryRunClient, func(spec *corev1.PodSpec, s Spread) error {
		Apply(spec, Placement{CSPs: []string{"aws"}}, s)
		return nil
	})
	if err != nil || !res.Changed {
		t.Fatalf("dry run: %v changed=%v", err, res.Changed)
	}
	if d := res.Object.(*appsv1.Deployment); d.Spec.Template.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[1].Key != topology.CSPLabel {
		t.Errorf("dry-run object lacks the placement")
	}
	got, _ := client.AppsV1().Deployments("prod").Get(context.Background(), "web", metav1.GetOptions{})
	if want := userSpec(); !reflect.DeepEqual(got.Spec.Template.Spec, want) {
		t.Errorf("client dry run changed the stored object")
	}
}

func TestEditRefusesStartedJobAndSpreadOnJobOrDaemonSet(t *testing.T) {
	suspended := true
	client := fake.NewClientset(
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "ran", Namespace: "d"}, Status: batchv1.JobStatus{StartTime: &metav1.Time{}}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: "d"}, Spec: batchv1.JobSpec{Suspend: &suspended}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "d"}},
	)
	edit := func(spec *corev1.PodSpec, s Spread) error {
		Apply(spec, Placement{CSPs: []string{"aws"}}, s)
		return nil
	}
	ran, _ := ParseTarget([]string{"job/ran"})
	if _, err := Edit(context.Background(), client, "d", ran, write.DryRunNone, edit); err == nil || !strings.Contains(err.Error(), `job "ran" has started`) {
		t.Errorf("started job: %v", err)
	}
	held, _ := ParseTarget([]string{"job/held"})
	if _, err := Edit(context.Background(), client, "d", held, write.DryRunNone, edit); err != nil {
		t.Errorf("suspended job: %v", err)
	}
	cj, _ := ParseTarget([]string{"cj/nightly"})
	res, err := Edit(context.Background(), client, "d", cj, write.DryRunNone, func(spec *corev1.PodSpec, s Spread) error {
		if s.Selector == nil || len(s.MatchLabelKeys) != 1 {
			t.Errorf("cronjob spread selection %+v", s)
		}
		Apply(spec, Placement{CSPs: []string{"aws"}, Spread: "csp", MaxSkew: 1}, s)
		return nil
	})
	if err != nil || !res.Changed {
		t.Errorf("cronjob: %v", err)
	}
	if err := (Placement{Spread: "csp"}).CheckKind(held.Kind); err == nil {
		t.Error("spread on a Job accepted")
	}
	ds, _ := ParseTarget([]string{"ds/agent"})
	if err := (Placement{Spread: "zone"}).CheckKind(ds.Kind); err == nil {
		t.Error("spread on a DaemonSet accepted")
	}
}
