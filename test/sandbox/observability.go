package sandbox

// Observability: what `kubectl logs`, `kubectl top` and `kubectl get events`
// need from a member, served by the real components (see Options.Observability).
//
//   - kwok (already every node's kubelet with Options.Pods) serves container
//     logs and the kubelet's /metrics/resource over HTTPS, with a certificate
//     of the member's CA, on Cluster.KwokAddress. A kwok Stage of the sandbox
//     points every node at it: an InternalDNS address "localhost", the
//     kubelet port in status.daemonEndpoints, and the annotation
//     metrics.k8s.io/resource-metrics-path (one kwok server stands in for
//     every node, so each node's metrics live under its own path).
//   - The kube-apiserver reaches kubelets by that address
//     (--kubelet-preferred-address-types=InternalDNS,...), verifying kwok's
//     certificate (--kubelet-certificate-authority), and runs the aggregation
//     layer (--requestheader-*, --proxy-client-*).
//   - metrics-server v0.8.0 scrapes the nodes as a cluster's metrics-server
//     does, and serves metrics.k8s.io through the APIService
//     v1beta1.metrics.k8s.io, whose Service is an ExternalName "localhost"
//     on metrics-server's port.
//   - kwok's ClusterLogs gives every container the member's log file
//     (Cluster.LogFile: "hello from <member>" lines); SetPodLogs gives one
//     pod its own lines through kwok's Logs objects. kwok follows the files,
//     so `logs -f` sees lines appended with AppendLog.
//   - kwok's ClusterResourceUsage gives every container 5m of cpu and 16Mi of
//     memory, or what the pod's annotations kwok.x-k8s.io/usage-cpu and
//     kwok.x-k8s.io/usage-memory say.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
)

// MetricsAPIService is the APIService the sandbox registers for metrics-server.
const MetricsAPIService = "v1beta1.metrics.k8s.io"

// Usage every kwok container reports unless its pod's annotations say otherwise.
const (
	DefaultPodCPUUsage    = "5m"
	DefaultPodMemoryUsage = "16Mi"
)

var (
	apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	kwokLogsGVR   = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}
)

// observabilityAPIServerArgs are the kube-apiserver flags for Observability:
// kubelets reached through the address the kwok stage adds, their serving
// certificate verified, and the aggregation layer on.
func observabilityAPIServerArgs(dir string, p *pki, name string) ([]string, error) {
	front := filepath.Join(dir, "front-proxy")
	if err := os.MkdirAll(front, 0o700); err != nil {
		return nil, err
	}
	fp, err := newPKI(front, name+"-front-proxy")
	if err != nil {
		return nil, err
	}
	if _, _, err := fp.issue("front-proxy-client", "front-proxy-client", nil, false); err != nil {
		return nil, err
	}
	return []string{
		"--kubelet-preferred-address-types=InternalDNS,InternalIP,ExternalIP,Hostname",
		"--kubelet-certificate-authority=" + p.path("ca.crt"),
		"--requestheader-client-ca-file=" + fp.path("ca.crt"),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + fp.path("front-proxy-client.crt"),
		"--proxy-client-key-file=" + fp.path("front-proxy-client.key"),
	}, nil
}

// observabilityKwokArgs prepares kwok's part on a member (its serving
// certificate, the member's log file, its configuration with the sandbox's
// stages) and returns that configuration and kwok's extra flags. port is
// kwok's server port.
func (f *Federation) observabilityKwok(ctx context.Context, c *Cluster, stages string, port int) (string, []string, error) {
	if _, _, err := c.pki.issue("kwok", "kwok", nil, true); err != nil {
		return "", nil, err
	}
	if err := c.applyFile(ctx, filepath.Join(dataDir(), "kwok-logs-crd.yaml")); err != nil {
		return "", nil, fmt.Errorf("kwok Logs CRD: %w", err)
	}
	if err := c.WaitCRDsEstablished(ctx); err != nil {
		return "", nil, fmt.Errorf("kwok Logs CRD: %w", err)
	}
	c.LogFile = filepath.Join(c.dir, "logs", "containers.log")
	if err := os.MkdirAll(filepath.Dir(c.LogFile), 0o700); err != nil {
		return "", nil, err
	}
	var lines []string
	for i := 1; i <= 3; i++ {
		lines = append(lines, fmt.Sprintf("hello from %s (line %d)", c.Name, i))
	}
	if err := writeLog(c.LogFile, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, lines); err != nil {
		return "", nil, err
	}
	base, err := os.ReadFile(stages)
	if err != nil {
		return "", nil, err
	}
	metric, err := os.ReadFile(filepath.Join(dataDir(), "kwok-metrics-resource.yaml"))
	if err != nil {
		return "", nil, fmt.Errorf("kwok metrics configuration: %w (run `make tools`)", err)
	}
	config := strings.Join([]string{
		strings.TrimSpace(string(base)),
		kwokNodeEndpointStage(port),
		strings.TrimSpace(string(metric)),
		kwokObservabilityConfig(c.LogFile),
	}, "\n---\n") + "\n"
	path := filepath.Join(c.dir, "kwok-observability.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return "", nil, err
	}
	return path, []string{
		"--tls-cert-file=" + c.pki.path("kwok.crt"),
		"--tls-private-key-file=" + c.pki.path("kwok.key"),
		// The stages below also write this port into each node's daemonEndpoints.
		"--node-port=" + strconv.Itoa(port),
		"--enable-crds=Logs",
	}, nil
}

// kwokNodeEndpointStage points every Ready node at this member's kwok
// server. It waits for Ready so that kwok's node-initialize runs first on a
// new node, as without it; then it outweighs kwok's heartbeat, so it runs
// on any node that lacks it, and matches no more once applied.
func kwokNodeEndpointStage(port int) string {
	return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: sandbox-node-kubelet-endpoint
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  weight: 1000
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: In
      values:
      - 'True'
    - key: 'if ((.status.daemonEndpoints.kubeletEndpoint.Port // 0) == ` + strconv.Itoa(port) + `) and ([.status.addresses[]? | select(.type == "InternalDNS" and .address == "localhost")] | length > 0) and ((.metadata.annotations // {})["metrics.k8s.io/resource-metrics-path"] != null) then "set" else "unset" end'
      operator: In
      values:
      - unset
  next:
    patches:
    - subresource: status
      root: status
      type: strategic
      template: |
        addresses:
        - address: localhost
          type: InternalDNS
        daemonEndpoints:
          kubeletEndpoint:
            Port: ` + strconv.Itoa(port) + `
    - root: metadata
      type: strategic
      template: |
        annotations:
          metrics.k8s.io/resource-metrics-path: "/metrics/nodes/{{ .metadata.name }}/metrics/resource"`
}

func kwokObservabilityConfig(logFile string) string {
	return fmt.Sprintf(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: sandbox-member-log
spec:
  logs:
  - logsFile: %q
    follow: true
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata:
  name: sandbox-usage
spec:
  usages:
  - usage:
      cpu:
        expression: |
          "kwok.x-k8s.io/usage-cpu" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["kwok.x-k8s.io/usage-cpu"])
          : Quantity(%q)
      memory:
        expression: |
          "kwok.x-k8s.io/usage-memory" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["kwok.x-k8s.io/usage-memory"])
          : Quantity(%q)`, logFile, DefaultPodCPUUsage, DefaultPodMemoryUsage)
}

// startMetricsServer runs metrics-server against a member and registers it
// as the member's metrics.k8s.io API.
func (f *Federation) startMetricsServer(ctx context.Context, c *Cluster) error {
	// The aggregator checks the name of the APIService's Service.
	_, _, err := c.pki.issueServing("metrics-server", "metrics-server",
		[]string{"localhost", "metrics-server", "metrics-server.kube-system", "metrics-server.kube-system.svc"})
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(c.dir, "controller-manager.kubeconfig")
	for attempt := 0; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		port := ports[0]
		c.metricsServer, err = startProcess(f.opts.BinDir, f.Dir, c.Name+"-metrics-server", "metrics-server", []string{
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--tls-cert-file=" + c.pki.path("metrics-server.crt"),
			"--tls-private-key-file=" + c.pki.path("metrics-server.key"),
			"--kubeconfig=" + kubeconfig,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--kubelet-preferred-address-types=InternalDNS",
			"--kubelet-use-node-status-port",
			"--kubelet-certificate-authority=" + c.pki.path("ca.crt"),
			// The shortest metrics-server allows: CPU needs two scrapes.
			"--metric-resolution=10s",
			"--kubelet-request-timeout=5s", // below 9/10 of the resolution
		}, f.opts.Detached)
		if err != nil {
			return err
		}
		err = c.metricsServer.waitFor(ctx, 60*time.Second, func(ctx context.Context) error {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err == nil {
				conn.Close()
			}
			return err
		})
		if err != nil && attempt < 2 && c.metricsServer.exited() {
			continue
		}
		if err != nil {
			return err
		}
		c.MetricsServerAddress = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		return c.registerMetricsAPI(ctx, int32(port))
	}
}

func (c *Cluster) registerMetricsAPI(ctx context.Context, port int32) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-server", Namespace: "kube-system", Labels: map[string]string{"k8s-app": "metrics-server"}},
		Spec: corev1.ServiceSpec{
			// metrics-server runs beside the apiserver, not in a pod: the
			// aggregator reaches an ExternalName Service at its name and port.
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "https", Port: port, TargetPort: intstr.FromInt32(port)}},
		},
	}
	if _, err := c.Client.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("metrics-server Service: %w", err)
	}
	api := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": MetricsAPIService, "labels": map[string]any{"k8s-app": "metrics-server"}},
		"spec": map[string]any{
			"group":                "metrics.k8s.io",
			"version":              "v1beta1",
			"groupPriorityMinimum": int64(100),
			"versionPriority":      int64(100),
			"caBundle":             c.CACert,
			"service":              map[string]any{"name": "metrics-server", "namespace": "kube-system", "port": int64(port)},
		},
	}}
	if _, err := c.Dynamic.Resource(apiServiceGVR).Create(ctx, api, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("APIService %s: %w", MetricsAPIService, err)
	}
	return nil
}

// WaitMetricsAPI waits until the member's metrics.k8s.io APIService is
// Available, that is the aggregator reaches metrics-server.
func (c *Cluster) WaitMetricsAPI(ctx context.Context, timeout time.Duration) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		api, err := c.Dynamic.Resource(apiServiceGVR).Get(ctx, MetricsAPIService, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(api.Object, "status", "conditions")
		for _, cond := range conds {
			m, _ := cond.(map[string]any)
			if m["type"] == "Available" {
				if m["status"] == "True" {
					return true, nil
				}
				last = fmt.Sprintf("%v: %v", m["reason"], m["message"])
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%s: APIService %s not Available: %s", c.Name, MetricsAPIService, last)
	}
	return nil
}

// StopMetricsServer stops the member's metrics-server, to test a member
// whose metrics API does not answer.
func (c *Cluster) StopMetricsServer() { c.metricsServer.stop() }

// SetPodLogs gives a pod's containers these log lines (instead of the
// member's LogFile), through a kwok Logs object; it returns the file, which
// kwok follows (see AppendLog). The pod need not exist yet.
func (c *Cluster) SetPodLogs(ctx context.Context, namespace, pod string, lines ...string) (string, error) {
	if c.LogFile == "" {
		return "", fmt.Errorf("%s: logs need Options.Observability", c.Name)
	}
	path := filepath.Join(filepath.Dir(c.LogFile), namespace+"_"+pod+".log")
	if err := writeLog(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, lines); err != nil {
		return "", err
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Logs",
		"metadata":   map[string]any{"name": pod, "namespace": namespace},
		"spec":       map[string]any{"logs": []any{map[string]any{"logsFile": path, "follow": true}}},
	}}
	_, err := c.Dynamic.Resource(kwokLogsGVR).Namespace(namespace).Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = nil
	}
	return path, err
}

// AppendLog adds lines to a container log file (LogFile or SetPodLogs's),
// in the CRI format kwok reads, as a container runtime does.
func AppendLog(path string, lines ...string) error {
	return writeLog(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, lines)
}

func writeLog(path string, flag int, lines []string) error {
	file, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), l)
	}
	_, err = file.WriteString(b.String())
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}

// issueServing signs a serving certificate for these DNS names (and
// 127.0.0.1) and writes NAME.crt and NAME.key.
func (p *pki) issueServing(name, cn string, dnsNames []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     dnsNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM, keyPEM = pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER)
	if err := os.WriteFile(p.path(name+".crt"), certPEM, 0o600); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, os.WriteFile(p.path(name+".key"), keyPEM, 0o600)
}
