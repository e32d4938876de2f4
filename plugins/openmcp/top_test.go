package openmcp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// podMetrics is a PodMetrics as metrics-server serves it.
func podMetrics(ns, name, cpu, memory string) *unstructured.Unstructured {
	u := obj("metrics.k8s.io/v1beta1", "PodMetrics", ns, name)
	_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"name": "web", "usage": map[string]any{"cpu": cpu, "memory": memory}}}, "containers")
	return u
}

// servePodMetrics puts PodMetrics where metrics.k8s.io serves them: the
// resource "pods" of that group (the fake would guess "podmetrics" from the kind).
func servePodMetrics(t *testing.T, tf *testFleet, member string, pods ...*unstructured.Unstructured) {
	t.Helper()
	for _, p := range pods {
		if err := tf.dyn[member].Tracker().Create(podMetricsGVR, p, p.GetNamespace()); err != nil {
			t.Fatal(err)
		}
	}
}

func topPods(tf *testFleet) *TopOptions {
	return &TopOptions{
		Pods: true, namespace: "shop", fleet: tf.fleet, IOStreams: tf.streams(),
		Selection: &fleet.SelectionFlags{All: true}, FanOut: fleet.NewFanOutFlags(),
	}
}

func TestTopPodsSumsPerMemberAndSorts(t *testing.T) {
	tf := newTestFleet(t, []fakeMember{{name: "cluster1", region: "AS"}, {name: "cluster2", region: "EU"}})
	servePodMetrics(t, tf, "cluster1", podMetrics("shop", "web-a", "5m", "16Mi"), podMetrics("shop", "web-b", "7m", "16Mi"))
	servePodMetrics(t, tf, "cluster2", podMetrics("shop", "web-c", "50m", "32Mi"))
	o := topPods(tf)
	o.Sum, o.SortBy = true, "cpu"
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, tf.errOut)
	}
	got := lines(tf.out.String())
	want := []string{
		"CLUSTER NAME CPU(cores) MEMORY(bytes)",
		"cluster2 web-c 50m 32Mi",
		"cluster1 web-b 7m 16Mi",
		"cluster1 web-a 5m 16Mi",
		"cluster1 TOTAL 12m 32Mi",
		"cluster2 TOTAL 50m 32Mi",
		"ALL TOTAL 62m 64Mi",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTopPodsMemberWithoutMetricsAPI(t *testing.T) {
	tf := newTestFleet(t, []fakeMember{{name: "cluster1"}, {name: "cluster2"}})
	servePodMetrics(t, tf, "cluster1", podMetrics("shop", "web-a", "5m", "16Mi"))
	tf.dyn["cluster2"].PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the server could not find the requested resource")
	})
	o := topPods(tf)
	err := o.Run(context.Background())
	wantExit1(t, err)
	if !strings.Contains(tf.out.String(), "cluster1") || strings.Contains(tf.out.String(), "cluster2") {
		t.Errorf("stdout %q: want cluster1's pod only", tf.out)
	}
	if n := strings.Count(tf.errOut.String(), "Warning: cluster cluster2:"); n != 1 {
		t.Errorf("stderr %q: want one warning naming cluster2", tf.errOut)
	}
}
