package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// observabilityFederation is a host and two members whose pods run (kwok),
// log (kwok's kubelet server behind the apiserver's log path) and report
// usage (metrics-server scraping kwok, behind the aggregation layer), with a
// Deployment "web" of two pods in namespace "shop" on each member. cpu, by
// member, is what each of its pods uses (kwok's usage annotation), if not
// sandbox.DefaultPodCPUUsage.
func observabilityFederation(t *testing.T, opts sandbox.Options, cpu map[string]string) *sandbox.Federation {
	t.Helper()
	opts.Observability = true
	fed := sandbox.Start(t, opts)
	ctx := context.Background()
	for i, m := range fed.Members {
		// One node as a real one reports itself (an InternalIP that is not
		// this machine's: the sandbox must still reach its kubelet) and one
		// that kwok initializes.
		m.CreateNodes(t,
			sandbox.Node{Name: m.Name + "-worker1", Roles: []string{"worker"}, InternalIP: fmt.Sprintf("10.0.%d.11", i+1), CPU: "8", Memory: "16Gi", Ready: true},
			sandbox.Node{Name: m.Name + "-worker2", Roles: []string{"worker"}, CPU: "8", Memory: "16Gi"},
		)
		if err := m.WaitPodsRunnable(ctx, 60*time.Second); err != nil {
			t.Fatalf("%s: kwok does not manage the nodes: %v", m.Name, err)
		}
		if _, err := m.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		replicas := int32(2)
		labels := map[string]string{"app": "web"}
		var usage map[string]string
		if cpu[m.Name] != "" {
			usage = map[string]string{"kwok.x-k8s.io/usage-cpu": cpu[m.Name]}
		}
		_, err := m.Client.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: usage},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "web", Image: "nginx:1.27",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
						}},
					}}},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range fed.Members {
		err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			d, err := m.Client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
			return err == nil && d.Status.ReadyReplicas == 2, nil
		})
		if err != nil {
			t.Fatalf("%s: Deployment shop/web not 2/2 ready", m.Name)
		}
	}
	return fed
}

// TestObservabilitySandbox proves, with the real kubectl, that the sandbox's
// members serve what `kubectl openmcp events|logs|top` read: container logs
// through the apiserver's log path (kwok's kubelet server), follow included;
// pod and node usage through metrics.k8s.io (metrics-server scraping kwok);
// and the scheduler's events.
func TestObservabilitySandbox(t *testing.T) {
	fed := observabilityFederation(t, sandbox.Options{Members: 2}, nil)
	ctx := context.Background()
	kc := kubectl()
	for _, m := range fed.Members {
		pods, err := m.Client.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(pods.Items) != 2 {
			t.Fatalf("%s: pods of shop/web: %v (%d)", m.Name, err, len(pods.Items))
		}
		first, second := pods.Items[0].Name, pods.Items[1].Name

		// Logs: every container logs the member's file...
		want := []string{
			fmt.Sprintf("hello from %s (line 1)", m.Name),
			fmt.Sprintf("hello from %s (line 2)", m.Name),
			fmt.Sprintf("hello from %s (line 3)", m.Name),
		}
		res := fed.Exec(t, kc, "--context", m.Name, "-n", "shop", "logs", second)
		if res.Code != 0 || strings.Join(lines(res.Stdout), "|") != strings.Join(want, "|") {
			t.Fatalf("%s: kubectl logs %s: exit %d, stdout %q, stderr %q; want %q", m.Name, second, res.Code, res.Stdout, res.Stderr, want)
		}
		res = fed.Exec(t, kc, "--context", m.Name, "-n", "shop", "logs", "deploy/web", "--tail=1")
		if res.Code != 0 || strings.TrimSpace(res.Stdout) != want[2] {
			t.Fatalf("%s: kubectl logs deploy/web --tail=1: exit %d, stdout %q, stderr %q", m.Name, res.Code, res.Stdout, res.Stderr)
		}
		// ...and a pod can have lines of its own, naming it.
		own := fmt.Sprintf("hello from %s/%s", m.Name, first)
		path, err := m.SetPodLogs(ctx, "shop", first, own)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			res = fed.Exec(t, kc, "--context", m.Name, "-n", "shop", "logs", first, "-c", "web")
			got = res.Stdout
			return res.Code == 0 && strings.TrimSpace(got) == own, nil
		})
		if err != nil {
			t.Fatalf("%s: kubectl logs %s after SetPodLogs: got %q (stderr %q), want %q", m.Name, first, got, res.Stderr, own)
		}
		followLogs(t, fed, m.Name, first, path, own)

		// Events: the scheduler's, as `kubectl get events` shows them.
		res = fed.Exec(t, kc, "--context", m.Name, "-n", "shop", "get", "events", "--field-selector", "reason=Scheduled", "-o", "custom-columns=OBJECT:.involvedObject.name,SOURCE:.reportingComponent,MESSAGE:.message", "--no-headers")
		scheduled := lines(res.Stdout)
		if res.Code != 0 || len(scheduled) != 2 {
			t.Fatalf("%s: kubectl get events reason=Scheduled: exit %d, stdout %q, stderr %q; want the 2 pods", m.Name, res.Code, res.Stdout, res.Stderr)
		}
		for _, l := range scheduled {
			if !strings.Contains(l, "default-scheduler") || !strings.Contains(l, "Successfully assigned shop/") {
				t.Errorf("%s: event %q is not the scheduler's", m.Name, l)
			}
		}
	}

	// Usage: metrics-server needs two scrapes (10 s apart) for cpu.
	for _, m := range fed.Members {
		if err := m.WaitMetricsAPI(ctx, 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range fed.Members {
		rows := topTable(t, fed, m.Name, 2, "top", "pods", "-n", "shop")
		for _, r := range rows {
			if !cpuNear(r["CPU(cores)"], sandbox.DefaultPodCPUUsage) || r["MEMORY(bytes)"] != sandbox.DefaultPodMemoryUsage {
				t.Errorf("%s: top pods row %v: want cpu %s, memory %s (kwok's ClusterResourceUsage)", m.Name, r, sandbox.DefaultPodCPUUsage, sandbox.DefaultPodMemoryUsage)
			}
		}
		nodes := topTable(t, fed, m.Name, 2, "top", "nodes")
		var busy int
		for _, r := range nodes {
			if r["CPU(cores)"] != "0m" && !strings.HasPrefix(r["MEMORY(bytes)"], "0") {
				busy++
			}
			if !strings.HasPrefix(r["NAME"], m.Name+"-") {
				t.Errorf("%s: top nodes shows %q", m.Name, r["NAME"])
			}
		}
		if busy == 0 {
			t.Errorf("%s: top nodes shows no node with usage: %v", m.Name, nodes)
		}
	}
}

// cpuNear says whether a cpu figure of kubectl top is the usage kwok was
// told: metrics-server computes it from two scrapes of a cumulative
// counter, whose times jitter by a few percent.
func cpuNear(got, want string) bool {
	g, err := resource.ParseQuantity(got)
	if err != nil {
		return false
	}
	w := resource.MustParse(want)
	diff := g.MilliValue() - w.MilliValue()
	return diff >= -max(1, w.MilliValue()/5) && diff <= max(1, w.MilliValue()/5)
}

// topTable runs `kubectl top ...` until it lists want rows with figures
// (metrics-server has none before its first scrapes) and returns them.
func topTable(t *testing.T, fed *sandbox.Federation, member string, want int, args ...string) []map[string]string {
	t.Helper()
	var res sandbox.Result
	var rows []map[string]string
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, 90*time.Second, true, func(context.Context) (bool, error) {
		res = fed.Exec(t, kubectl(), append([]string{"--context", member}, args...)...)
		if res.Code != 0 || len(lines(res.Stdout)) != want+1 {
			return false, nil
		}
		rows = parseTable(t, res.Stdout)
		return true, nil
	})
	if err != nil {
		t.Fatalf("%s: kubectl %s: exit %d, stdout %q, stderr %q", member, strings.Join(args, " "), res.Code, res.Stdout, res.Stderr)
	}
	t.Logf("%s: kubectl %s:\n%s", member, strings.Join(args, " "), res.Stdout)
	return rows
}

// followLogs runs `kubectl logs -f` on a pod, appends a line to its log file
// as a runtime would, and expects to see it streamed.
func followLogs(t *testing.T, fed *sandbox.Federation, member, pod, path, first string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl(), "--context", member, "-n", "shop", "logs", "-f", pod)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+fed.Kubeconfig)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	next := func() string {
		if !sc.Scan() {
			t.Fatalf("%s: kubectl logs -f %s ended: %v, stderr %q", member, pod, sc.Err(), stderr.String())
		}
		return sc.Text()
	}
	if l := next(); l != first {
		t.Fatalf("%s: kubectl logs -f %s: first line %q, want %q", member, pod, l, first)
	}
	later := fmt.Sprintf("%s/%s at %s", member, pod, time.Now().Format(time.RFC3339Nano))
	if err := sandbox.AppendLog(path, later); err != nil {
		t.Fatal(err)
	}
	if l := next(); l != later {
		t.Fatalf("%s: kubectl logs -f %s: streamed %q, want %q", member, pod, l, later)
	}
}
