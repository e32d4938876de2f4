package placement

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// Kind is a workload kind place can edit.
type Kind struct {
	Name     string // Deployment
	Resource string // deployments
	Group    string // apps
	aliases  []string
}

// GVK is the kind's group, version and kind.
func (k Kind) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: "v1", Kind: k.Name}
}

// String is the kind as kubectl prints it in "deployment.apps/web".
func (k Kind) String() string { return strings.ToLower(k.Name) + "." + k.Group }

// Kinds are the workloads with a pod template place can edit.
var Kinds = []Kind{
	{Name: "Deployment", Resource: "deployments", Group: "apps", aliases: []string{"deployment", "deploy"}},
	{Name: "StatefulSet", Resource: "statefulsets", Group: "apps", aliases: []string{"statefulset", "sts"}},
	{Name: "DaemonSet", Resource: "daemonsets", Group: "apps", aliases: []string{"daemonset", "ds"}},
	{Name: "Job", Resource: "jobs", Group: "batch", aliases: []string{"job"}},
	{Name: "CronJob", Resource: "cronjobs", Group: "batch", aliases: []string{"cronjob", "cj"}},
}

// Target is one workload.
type Target struct {
	Kind Kind
	Name string
}

func (t Target) String() string { return t.Kind.String() + "/" + t.Name }

// ParseTarget reads TYPE/NAME, or TYPE and NAME as two arguments, as
// kubectl does: deploy/web, deployment.apps/web, sts db, cj/nightly.
func ParseTarget(args []string) (Target, error) {
	var typ, name string
	switch len(args) {
	case 1:
		var ok bool
		typ, name, ok = strings.Cut(args[0], "/")
		if !ok {
			return Target{}, fmt.Errorf("%q is not TYPE/NAME (e.g. deployment/web)", args[0])
		}
	case 2:
		typ, name = args[0], args[1]
	default:
		return Target{}, fmt.Errorf("want TYPE/NAME or TYPE NAME, got %d arguments", len(args))
	}
	if name == "" || strings.Contains(name, "/") {
		return Target{}, fmt.Errorf("invalid workload name %q", name)
	}
	kind, err := KindFor(typ)
	if err != nil {
		return Target{}, err
	}
	return Target{Kind: kind, Name: name}, nil
}

// KindFor resolves a resource type as typed on the command line.
func KindFor(typ string) (Kind, error) {
	t := strings.ToLower(typ)
	res, group, _ := strings.Cut(t, ".")
	for _, k := range Kinds {
		if group != "" && group != k.Group && group != k.Group+"/v1" && group != "v1."+k.Group {
			continue
		}
		if res == k.Resource || res == strings.ToLower(k.Name) {
			return k, nil
		}
		for _, a := range k.aliases {
			if res == a {
				return k, nil
			}
		}
	}
	return Kind{}, fmt.Errorf("cannot place %q: place edits the pod template of deployments, statefulsets, daemonsets, jobs and cronjobs", typ)
}

// EditFunc changes a pod spec; spread says how to select the workload's pods.
type EditFunc func(spec *corev1.PodSpec, spread Spread) error

// Result is a workload after place.
type Result struct {
	Object  runtime.Object // the workload as it is (or would be) after the change
	Changed bool
	// Before is the pod spec before the change, for warnings.
	Before *corev1.PodSpec
}

// Edit reads the workload, applies edit to its pod template and patches the
// difference with a strategic merge patch that carries the resourceVersion
// read, retrying on conflict with whoever wrote in between.
func Edit(ctx context.Context, client kubernetes.Interface, namespace string, target Target, dryRun write.DryRun, edit EditFunc) (*Result, error) {
	var result *Result
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := get(ctx, client, namespace, target)
		if err != nil {
			return err
		}
		if err := checkEditable(obj); err != nil {
			return err
		}
		before, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		modified := obj.DeepCopyObject()
		tmpl, spread := template(modified)
		beforeSpec := tmpl.Spec.DeepCopy()
		if err := edit(&tmpl.Spec, spread); err != nil {
			return err
		}
		after, err := json.Marshal(modified)
		if err != nil {
			return err
		}
		patch, err := strategicpatch.CreateTwoWayMergePatch(before, after, obj)
		if err != nil {
			return fmt.Errorf("cannot compute the patch for %s: %w", target, err)
		}
		setGVK(modified, target.Kind)
		if string(patch) == "{}" {
			setGVK(obj, target.Kind)
			result = &Result{Object: obj, Before: beforeSpec}
			return nil
		}
		if dryRun == write.DryRunClient {
			result = &Result{Object: modified, Changed: true, Before: beforeSpec}
			return nil
		}
		patch, err = withResourceVersion(patch, obj.(metav1.Object).GetResourceVersion())
		if err != nil {
			return err
		}
		opts := metav1.PatchOptions{FieldManager: write.FieldManagerMCKS, DryRun: dryRun.Options()}
		patched, err := doPatch(ctx, client, namespace, target, patch, opts)
		if err != nil {
			return err
		}
		setGVK(patched, target.Kind)
		result = &Result{Object: patched, Changed: true, Before: beforeSpec}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// withResourceVersion makes the patch conditional on the version read.
func withResourceVersion(patch []byte, rv string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(patch, &m); err != nil {
		return nil, err
	}
	meta, _ := m["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		m["metadata"] = meta
	}
	meta["resourceVersion"] = rv
	return json.Marshal(m)
}

func get(ctx context.Context, c kubernetes.Interface, ns string, t Target) (runtime.Object, error) {
	o := metav1.GetOptions{}
	switch t.Kind.Name {
	case "Deployment":
		return c.AppsV1().Deployments(ns).Get(ctx, t.Name, o)
	case "StatefulSet":
		return c.AppsV1().StatefulSets(ns).Get(ctx, t.Name, o)
	case "DaemonSet":
		return c.AppsV1().DaemonSets(ns).Get(ctx, t.Name, o)
	case "Job":
		return c.BatchV1().Jobs(ns).Get(ctx, t.Name, o)
	case "CronJob":
		return c.BatchV1().CronJobs(ns).Get(ctx, t.Name, o)
	}
	return nil, fmt.Errorf("unsupported kind %s", t.Kind.Name)
}

func doPatch(ctx context.Context, c kubernetes.Interface, ns string, t Target, data []byte, o metav1.PatchOptions) (runtime.Object, error) {
	pt := types.StrategicMergePatchType
	switch t.Kind.Name {
	case "Deployment":
		return c.AppsV1().Deployments(ns).Patch(ctx, t.Name, pt, data, o)
	case "StatefulSet":
		return c.AppsV1().StatefulSets(ns).Patch(ctx, t.Name, pt, data, o)
	case "DaemonSet":
		return c.AppsV1().DaemonSets(ns).Patch(ctx, t.Name, pt, data, o)
	case "Job":
		return c.BatchV1().Jobs(ns).Patch(ctx, t.Name, pt, data, o)
	case "CronJob":
		return c.BatchV1().CronJobs(ns).Patch(ctx, t.Name, pt, data, o)
	}
	return nil, fmt.Errorf("unsupported kind %s", t.Kind.Name)
}

// template finds the pod template and how to select the pods it makes.
func template(obj runtime.Object) (*corev1.PodTemplateSpec, Spread) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		// pod-template-hash keeps a rollout's old pods out of the new ones' count.
		return &o.Spec.Template, Spread{Selector: o.Spec.Selector, MatchLabelKeys: []string{appsv1.DefaultDeploymentUniqueLabelKey}}
	case *appsv1.StatefulSet:
		return &o.Spec.Template, Spread{Selector: o.Spec.Selector}
	case *appsv1.DaemonSet:
		return &o.Spec.Template, Spread{Selector: o.Spec.Selector}
	case *batchv1.Job:
		return &o.Spec.Template, Spread{Selector: o.Spec.Selector}
	case *batchv1.CronJob:
		// Every run is a new Job: count each run's pods on their own.
		sel := &metav1.LabelSelector{MatchLabels: o.Spec.JobTemplate.Spec.Template.Labels}
		if len(sel.MatchLabels) == 0 {
			sel = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: batchv1.ControllerUidLabel, Operator: metav1.LabelSelectorOpExists}}}
		}
		return &o.Spec.JobTemplate.Spec.Template, Spread{Selector: sel, MatchLabelKeys: []string{batchv1.ControllerUidLabel}}
	}
	return nil, Spread{}
}

// checkEditable refuses, before any write, what the apiserver would refuse
// less clearly: a Job's pod template may change only while the Job is
// suspended and has never started.
func checkEditable(obj runtime.Object) error {
	if job, ok := obj.(*batchv1.Job); ok {
		suspended := job.Spec.Suspend != nil && *job.Spec.Suspend
		if !suspended || job.Status.StartTime != nil {
			return fmt.Errorf("job %q has started: Kubernetes lets a Job's node affinity change only while it is suspended and has never run; place its CronJob, or recreate the Job with spec.suspend: true and place it before resuming", job.Name)
		}
	}
	return nil
}

func setGVK(obj runtime.Object, k Kind) {
	obj.GetObjectKind().SetGroupVersionKind(k.GVK())
}

// CheckKind refuses placements a kind cannot take: a DaemonSet runs one pod
// per node, so spreading it means nothing; a Job's spread constraints cannot
// change after it is created.
func (p Placement) CheckKind(k Kind) error {
	if p.Spread == "" {
		return nil
	}
	switch k.Name {
	case "DaemonSet":
		return fmt.Errorf("--spread does not apply to a DaemonSet: it runs one pod per matching node")
	case "Job":
		return fmt.Errorf("--spread cannot be set on an existing Job: its topologySpreadConstraints are immutable; place its CronJob or set them in the Job's manifest")
	}
	return nil
}
