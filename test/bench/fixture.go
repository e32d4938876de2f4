package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/test/bench/delayproxy"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// benchNamespace holds the objects every "cluster" lists.
const benchNamespace = "bench"

// fixture is the sandbox, the proxies in front of its host apiserver, and a
// kubeconfig whose contexts reach the apiserver through them.
type fixture struct {
	fed        *sandbox.Federation
	dir        string
	kubeconfig string              // contexts "openmcp" and cluster1..clusterN, all through proxies
	host       *delayproxy.Proxy   // the "openmcp" context
	proxies    []*delayproxy.Proxy // proxies[k-1] is clusterK
	joined     int                 // KubeFedClusters cluster1..joined exist
	tlsConfig  *rest.Config        // the admin identity, for the floor client
}

func newFixture(ctx context.Context, cfg *config, dir string) (_ *fixture, err error) {
	f := &fixture{dir: dir}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	members := 0
	if cfg.JoinRuns > 0 {
		members = 2 // idle during the get benchmark; joined and unjoined at the end
	}
	start := time.Now()
	f.fed, err = sandbox.Launch(ctx, sandbox.Options{Members: members, Dir: filepath.Join(f.dir, "sandbox"), Logf: logf})
	if err != nil {
		return nil, err
	}
	h := f.fed.Host
	if err := loadObjects(ctx, h, cfg.Pods, cfg.HPAs); err != nil {
		return nil, err
	}
	logf("bench: %d pods and %d HPAs in namespace %s (%s)", cfg.Pods, cfg.HPAs, benchNamespace, time.Since(start).Round(time.Millisecond))
	target, err := url.Parse(h.Server)
	if err != nil {
		return nil, err
	}
	if f.host, err = delayproxy.Start(target.Host, 0); err != nil {
		return nil, err
	}
	for range cfg.proxiesN() {
		p, err := delayproxy.Start(target.Host, 0)
		if err != nil {
			return nil, err
		}
		f.proxies = append(f.proxies, p)
	}
	f.tlsConfig = rest.CopyConfig(h.Config)
	f.kubeconfig = filepath.Join(f.dir, "bench.kubeconfig")
	return f, f.writeKubeconfig()
}

// writeKubeconfig writes contexts openmcp and cluster1..clusterN, each through
// its proxy, with the host's CA and admin client certificate.
func (f *fixture) writeKubeconfig() error {
	h := f.fed.Host
	kc := clientcmdapi.NewConfig()
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: h.Config.CertData, ClientKeyData: h.Config.KeyData}
	add := func(name string, p *delayproxy.Proxy) {
		kc.Clusters[name] = &clientcmdapi.Cluster{Server: "https://" + p.Addr(), CertificateAuthorityData: h.CACert}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "admin"}
	}
	add(sandbox.HostName, f.host)
	for k, p := range f.proxies {
		add(clusterName(k+1), p)
	}
	kc.CurrentContext = sandbox.HostName
	return clientcmd.WriteToFile(*kc, f.kubeconfig)
}

func clusterName(k int) string { return "cluster" + strconv.Itoa(k) }

func (f *fixture) clusters(n int) []string {
	out := make([]string, n)
	for k := range n {
		out[k] = clusterName(k + 1)
	}
	return out
}

// setRTT sets every member proxy to rtt and the host proxy to hostRTT.
func (f *fixture) setRTT(rtt, hostRTT time.Duration) {
	f.host.SetRTT(hostRTT)
	for _, p := range f.proxies {
		p.SetRTT(rtt)
	}
}

// joinMembers makes the host list exactly cluster1..clusterN as KubeFedClusters.
func (f *fixture) joinMembers(ctx context.Context, n int) error {
	h := f.fed.Host
	for k := f.joined + 1; k <= n; k++ {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "core.kubefed.io/v1beta1",
			"kind":       "KubeFedCluster",
			"metadata":   map[string]any{"name": clusterName(k), "namespace": sandbox.KubeFedNamespace},
			"spec": map[string]any{
				"apiEndpoint": "https://" + f.proxies[k-1].Addr(),
				"secretRef":   map[string]any{"name": "bench-unused"},
			},
		}}
		_, err := h.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("KubeFedCluster %s: %w", clusterName(k), err)
		}
	}
	f.joined = max(f.joined, n)
	return nil
}

// unjoinAll removes the bench's KubeFedClusters (before the join benchmark,
// whose members are also called cluster1 and cluster2).
func (f *fixture) unjoinAll(ctx context.Context) error {
	err := f.fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).
		DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
	f.joined = 0
	return err
}

func (f *fixture) Close() {
	if f.host != nil {
		f.host.Close()
	}
	for _, p := range f.proxies {
		p.Close()
	}
	if f.fed != nil {
		f.fed.Stop()
	}
}

// loadObjects creates the benchmark namespace with pods and HPAs shaped like
// those of real Deployments (labels, resources, probes, env), through the API.
// Nothing schedules the pods; a list does not care.
func loadObjects(ctx context.Context, c *sandbox.Cluster, pods, hpas int) error {
	cfg := rest.CopyConfig(c.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := c.EnsureNamespace(ctx, benchNamespace); err != nil {
		return err
	}
	// The ServiceAccount admission plugin rejects pods until the controller
	// manager has created the namespace's default account.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(benchNamespace).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("no default service account in %s: %w", benchNamespace, err)
	}
	const deployments = 20
	errs := make(chan error, pods+hpas+benchEvents)
	work := make(chan func() error)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for fn := range work {
				if err := fn(); err != nil && !apierrors.IsAlreadyExists(err) {
					errs <- err
				}
			}
		})
	}
	for i := range pods {
		work <- func() error {
			_, err := client.CoreV1().Pods(benchNamespace).Create(ctx, benchPod(i, i%deployments), metav1.CreateOptions{})
			return err
		}
	}
	for i := range hpas {
		work <- func() error {
			_, err := client.AutoscalingV2().HorizontalPodAutoscalers(benchNamespace).Create(ctx, benchHPA(i), metav1.CreateOptions{})
			return err
		}
	}
	// Events as a scheduler and kubelet record them, for `events --all-clusters`.
	for i := range benchEvents {
		work <- func() error {
			_, err := client.CoreV1().Events(benchNamespace).Create(ctx, benchEvent(i), metav1.CreateOptions{})
			return err
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		return fmt.Errorf("create bench objects: %w", err)
	}
	return nil
}

// benchEvents is how many events each cluster holds in the bench namespace.
const benchEvents = 100

func benchEvent(i int) *corev1.Event {
	pod := fmt.Sprintf("web-%02d-%010x-%05d", i%20, 0x5f7b9c4d00+i%20, i)
	now := metav1.NewTime(time.Now().Add(-time.Duration(i) * time.Second))
	reason, typ, msg := "Scheduled", corev1.EventTypeNormal, "Successfully assigned bench/"+pod+" to node-1"
	if i%5 == 0 {
		reason, typ, msg = "BackOff", corev1.EventTypeWarning, "Back-off restarting failed container web in pod "+pod
	}
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", pod, 0x1800000000+i), Namespace: benchNamespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: benchNamespace, Name: pod, APIVersion: "v1"},
		Reason:         reason, Message: msg, Type: typ, Count: 1,
		FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: "default-scheduler"},
	}
}

func benchPod(i, deploy int) *corev1.Pod {
	app := fmt.Sprintf("web-%02d", deploy)
	hash := fmt.Sprintf("%010x", 0x5f7b9c4d00+deploy)
	labels := map[string]string{
		"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "shop",
		"pod-template-hash": hash, "tier": "frontend",
	}
	probe := &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		InitialDelaySeconds: 5, PeriodSeconds: 10,
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("%s-%s-%05d", app, hash, i),
			Labels:      labels,
			Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  "web",
				Image: "registry.example.com/shop/web:1.27.3",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
				Env: []corev1.EnvVar{
					{Name: "LOG_LEVEL", Value: "info"}, {Name: "REGION", Value: "ap-northeast-2"},
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				LivenessProbe:  probe,
				ReadinessProbe: probe,
			}},
			AutomountServiceAccountToken: new(false),
		},
	}
}

func benchHPA(i int) *autoscalingv2.HorizontalPodAutoscaler {
	name := fmt.Sprintf("web-%02d", i)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    new(int32(2)),
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{
					Name:   corev1.ResourceCPU,
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: new(int32(70))},
				},
			}},
		},
	}
}
