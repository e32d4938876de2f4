// Package doctor is the engine of `kubectl openmcp check`: it checks a
// federation's control plane (OpenMCP's CRDs and controllers, KubeFed,
// MetalLB, OpenMCP's scheduling) and each member's stored credentials, item
// by item, and reports one Finding per item.
package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// CheckStatus is the verdict on one item of `check`.
type CheckStatus string

const (
	CheckOK   CheckStatus = "OK"
	CheckWarn CheckStatus = "WARN"
	CheckFail CheckStatus = "FAIL"
)

// Finding is one line of `check`.
type Finding struct {
	Status CheckStatus
	Item   string
	Detail string
}

// Controllers are the Deployments of OpenMCP's control plane in namespace
// openmcp, named as OpenMCP's deploy/operator.yaml files name them.
var Controllers = []string{
	"openmcp-sync-controller",
	"openmcp-deployment-controller",
	"openmcp-service-controller",
	"openmcp-ingress-controller",
	"openmcp-has-controller",
	"openmcp-scheduler",
	"openmcp-policy-engine",
	"openmcp-dns-controller",
	"openmcp-loadbalancing-controller",
	"openmcp-analytic-engine",
	"openmcp-metric-collector",
}

// KubeFedCRDs are the CRDs KubeFed v0.10.0's chart installs.
var KubeFedCRDs = []string{
	"clusterpropagatedversions.core.kubefed.io",
	"federatedservicestatuses.core.kubefed.io",
	"federatedtypeconfigs.core.kubefed.io",
	"kubefedclusters.core.kubefed.io",
	"kubefedconfigs.core.kubefed.io",
	"propagatedversions.core.kubefed.io",
	"replicaschedulingpreferences.scheduling.kubefed.io",
}

const (
	// KubeFedConfigName and KubeFedController are what KubeFed's chart creates.
	KubeFedConfigName = "kubefed"
	KubeFedController = "kubefed-controller-manager"
	// MetalLBPoolsCRD marks MetalLB >= 0.13, configured by IPAddressPools;
	// older MetalLB reads the ConfigMap metallb-system/config.
	MetalLBPoolsCRD  = "ipaddresspools.metallb.io"
	MetalLBNamespace = "metallb-system"
)

var (
	crdGVR           = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	kubeFedConfigGVR = schema.GroupVersionResource{Group: "core.kubefed.io", Version: "v1beta1", Resource: "kubefedconfigs"}
	ipPoolGVR        = schema.GroupVersionResource{Group: "metallb.io", Version: "v1beta1", Resource: "ipaddresspools"}
)

// Doctor checks a federation's control plane, item by item.
type Doctor struct {
	HostContext      string
	Discovery        discovery.DiscoveryInterface
	Kube             kubernetes.Interface
	Dynamic          dynamic.Interface
	KubeFedNamespace string
	Kubeconfig       *fleet.Kubeconfig
	// Member returns clients for a kubeconfig context.
	Member func(context string) (*fleet.Clients, error)
	// Timeout bounds each member's checks.
	Timeout time.Duration
}

// Run emits one Finding per item, in a fixed order, as soon as it is
// known. An unreachable host ends the run after its finding.
func (d *Doctor) Run(ctx context.Context, emit func(Finding)) {
	v, err := d.Discovery.ServerVersion()
	if err != nil {
		emit(Finding{CheckFail, "host", fmt.Sprintf("context %s is not reachable: %v", d.HostContext, err)})
		return
	}
	emit(Finding{CheckOK, "host", fmt.Sprintf("context %s reachable, Kubernetes %s", d.HostContext, v.GitVersion)})

	crds, crdErr := d.crdNames(ctx)
	d.checkCRDs(emit, "KubeFed CRDs", KubeFedCRDs, crds, crdErr, "install KubeFed v0.10.0 (its chart's CRDs)")
	d.checkKubeFedConfig(ctx, emit)
	d.checkKubeFedController(ctx, emit)

	names := make([]string, 0, len(openmcpapi.Kinds))
	for _, k := range openmcpapi.Kinds {
		names = append(names, k.CRDName())
	}
	d.checkCRDs(emit, "OpenMCP CRDs", names, crds, crdErr, "install the OpenMCP CRDs")

	if _, err := d.Kube.CoreV1().Namespaces().Get(ctx, openmcpapi.Namespace, metav1.GetOptions{}); err != nil {
		detail := fmt.Sprintf("cannot read namespace %s: %v", openmcpapi.Namespace, err)
		if apierrors.IsNotFound(err) {
			detail = fmt.Sprintf("namespace %s does not exist: OpenMCP is not installed", openmcpapi.Namespace)
		}
		emit(Finding{CheckFail, "OpenMCP namespace", detail})
	} else {
		emit(Finding{CheckOK, "OpenMCP namespace", "namespace " + openmcpapi.Namespace + " exists"})
		sched := d.readScheduling(ctx)
		d.checkControllers(ctx, emit, sched)
		d.checkScheduling(emit, sched)
	}
	d.checkPolicies(ctx, emit, crds)
	d.checkMembers(ctx, emit)
	d.checkCredentials(ctx, emit)
}

func (d *Doctor) crdNames(ctx context.Context) (map[string]bool, error) {
	list, err := d.Dynamic.Resource(crdGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(list.Items))
	for _, it := range list.Items {
		out[it.GetName()] = true
	}
	return out, nil
}

func (d *Doctor) checkCRDs(emit func(Finding), item string, want []string, have map[string]bool, err error, fix string) {
	if err != nil {
		emit(Finding{CheckFail, item, fmt.Sprintf("cannot list CRDs: %v", err)})
		return
	}
	var missing []string
	for _, n := range want {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		emit(Finding{CheckFail, item, fmt.Sprintf("%d of %d missing: %s (%s)", len(missing), len(want), strings.Join(missing, ", "), fix)})
		return
	}
	emit(Finding{CheckOK, item, fmt.Sprintf("all %d present", len(want))})
}

func (d *Doctor) checkKubeFedConfig(ctx context.Context, emit func(Finding)) {
	kfc, err := d.Dynamic.Resource(kubeFedConfigGVR).Namespace(d.KubeFedNamespace).Get(ctx, KubeFedConfigName, metav1.GetOptions{})
	if err != nil {
		detail := fmt.Sprintf("cannot read KubeFedConfig %s/%s: %v", d.KubeFedNamespace, KubeFedConfigName, err)
		if apierrors.IsNotFound(err) {
			detail = fmt.Sprintf("KubeFedConfig %s/%s does not exist", d.KubeFedNamespace, KubeFedConfigName)
		}
		emit(Finding{CheckFail, "KubeFedConfig", detail})
		return
	}
	scope, _, _ := unstructured.NestedString(kfc.Object, "spec", "scope")
	emit(Finding{CheckOK, "KubeFedConfig", fmt.Sprintf("%s/%s, scope %s", d.KubeFedNamespace, KubeFedConfigName, orDash(scope))})
}

// checkKubeFedController wants the chart's Deployment; without it, a
// controller running elsewhere (a process, another cluster) still shows in
// the KubeFedClusters it probes, which is worth a WARN rather than a FAIL.
func (d *Doctor) checkKubeFedController(ctx context.Context, emit func(Finding)) {
	const item = "KubeFed controller"
	_, err := d.Kube.AppsV1().Deployments(d.KubeFedNamespace).Get(ctx, KubeFedController, metav1.GetOptions{})
	if err == nil || !apierrors.IsNotFound(err) {
		d.checkDeployments(ctx, emit, item, d.KubeFedNamespace, []string{KubeFedController})
		return
	}
	members, _ := fleet.ListMembers(ctx, d.Dynamic, d.KubeFedNamespace, nil)
	var latest time.Time
	for _, m := range members {
		for _, c := range m.Cluster.Status.Conditions {
			if c.LastProbeTime.After(latest) {
				latest = c.LastProbeTime.Time
			}
		}
	}
	if !latest.IsZero() && time.Since(latest) < 5*time.Minute {
		emit(Finding{CheckWarn, item, fmt.Sprintf("no Deployment %s/%s, but a KubeFed controller probed the member clusters %s ago (running outside the host?)",
			d.KubeFedNamespace, KubeFedController, time.Since(latest).Round(time.Second))})
		return
	}
	emit(Finding{CheckFail, item, fmt.Sprintf("no Deployment %s/%s and no KubeFedCluster probed in the last 5 minutes: KubeFed's controller is not running", d.KubeFedNamespace, KubeFedController)})
}

// checkControllers wants OpenMCP's Deployments; where none is deployed but
// OpenMCPDeployments are being scheduled, the controllers run elsewhere (as
// processes, as in the sandbox), which is worth a WARN rather than a FAIL.
func (d *Doctor) checkControllers(ctx context.Context, emit func(Finding), sched schedulingState) {
	const item = "OpenMCP controllers"
	list, err := d.Kube.AppsV1().Deployments(openmcpapi.Namespace).List(ctx, metav1.ListOptions{})
	if err == nil && sched.scheduled > 0 && len(sched.stuck) == 0 {
		deployed := 0
		for _, dep := range list.Items {
			for _, n := range Controllers {
				if dep.Name == n {
					deployed++
				}
			}
		}
		if deployed == 0 {
			emit(Finding{CheckWarn, item, fmt.Sprintf("no Deployment of OpenMCP's controllers in namespace %s, but %d OpenMCPDeployment(s) were scheduled (controllers running outside the host?)", openmcpapi.Namespace, sched.scheduled)})
			return
		}
	}
	d.checkDeployments(ctx, emit, item, openmcpapi.Namespace, Controllers)
}

// checkDeployments reports, in one line, which of the named Deployments
// are missing or not ready.
func (d *Doctor) checkDeployments(ctx context.Context, emit func(Finding), item, ns string, names []string) {
	list, err := d.Kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		emit(Finding{CheckFail, item, fmt.Sprintf("cannot list Deployments in %s: %v", ns, err)})
		return
	}
	byName := map[string]appsv1.Deployment{}
	for _, dep := range list.Items {
		byName[dep.Name] = dep
	}
	var missing, notReady []string
	for _, n := range names {
		dep, ok := byName[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		want := int32(1)
		if dep.Spec.Replicas != nil {
			want = *dep.Spec.Replicas
		}
		if dep.Status.AvailableReplicas < want || want == 0 {
			notReady = append(notReady, fmt.Sprintf("%s %d/%d", n, dep.Status.AvailableReplicas, want))
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(missing, ", "))
	}
	if len(notReady) > 0 {
		parts = append(parts, "not ready: "+strings.Join(notReady, ", "))
	}
	if len(parts) > 0 {
		emit(Finding{CheckFail, item, fmt.Sprintf("in namespace %s, %s", ns, strings.Join(parts, "; "))})
		return
	}
	emit(Finding{CheckOK, item, fmt.Sprintf("%d/%d ready in namespace %s", len(names), len(names), ns)})
}

func (d *Doctor) checkPolicies(ctx context.Context, emit func(Finding), crds map[string]bool) {
	pk := openmcpapi.PolicyKind()
	if crds != nil && !crds[pk.CRDName()] {
		emit(Finding{CheckFail, "OpenMCP policies", "the OpenMCPPolicy CRD is missing"})
		return
	}
	list, err := d.Dynamic.Resource(pk.GVR()).Namespace(openmcpapi.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		emit(Finding{CheckFail, "OpenMCP policies", fmt.Sprintf("cannot list OpenMCPPolicies in %s: %v", openmcpapi.Namespace, err)})
		return
	}
	have := map[string]bool{}
	var disabled []string
	for _, it := range list.Items {
		have[it.GetName()] = true
		if s, _, _ := unstructured.NestedString(it.Object, "spec", "policyStatus"); s == "Disabled" {
			disabled = append(disabled, it.GetName())
		}
	}
	var missing []string
	for _, n := range openmcpapi.DefaultPolicies {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		emit(Finding{CheckFail, "OpenMCP policies", fmt.Sprintf("%d of %d default policies missing in %s: %s", len(missing), len(openmcpapi.DefaultPolicies), openmcpapi.Namespace, strings.Join(missing, ", "))})
		return
	}
	if len(disabled) > 0 {
		sort.Strings(disabled)
		emit(Finding{CheckWarn, "OpenMCP policies", "disabled: " + strings.Join(disabled, ", ")})
		return
	}
	emit(Finding{CheckOK, "OpenMCP policies", fmt.Sprintf("all %d default policies present", len(openmcpapi.DefaultPolicies))})
}

func (d *Doctor) checkMembers(ctx context.Context, emit func(Finding)) {
	members, err := fleet.ListMembers(ctx, d.Dynamic, d.KubeFedNamespace, d.Kubeconfig)
	if err != nil {
		emit(Finding{CheckFail, "members", err.Error()})
		return
	}
	if len(members) == 0 {
		emit(Finding{CheckWarn, "members", "no KubeFedCluster in " + d.KubeFedNamespace + ": no member cluster is joined"})
		return
	}
	// Host-side facts first, one line per member: Ready, then labels.
	for _, m := range members {
		switch r := m.Ready(); r {
		case "True":
			emit(Finding{CheckOK, "cluster " + m.Name, "KubeFedCluster Ready"})
		default:
			detail := "KubeFedCluster Ready is " + r
			for _, c := range m.Cluster.Status.Conditions {
				if string(c.Type) == "Ready" && c.Message != nil && *c.Message != "" {
					detail += ": " + *c.Message
				}
			}
			emit(Finding{CheckFail, "cluster " + m.Name, detail})
		}
	}
	for _, m := range members {
		l := m.Cluster.Labels
		region, zone := l[fleet.RegionLabel], l[fleet.ZoneLabel]
		if region == "" || zone == "" {
			var miss []string
			if region == "" {
				miss = append(miss, fleet.RegionLabel)
			}
			if zone == "" {
				miss = append(miss, fleet.ZoneLabel)
			}
			emit(Finding{CheckWarn, "labels " + m.Name, "KubeFedCluster lacks " + strings.Join(miss, " and ") + " (OpenMCP's scheduler and region/zone placement need them)"})
			continue
		}
		emit(Finding{CheckOK, "labels " + m.Name, fmt.Sprintf("region %s, zone %s", region, zone)})
	}
	// MetalLB needs the members themselves: in parallel, reported in order.
	names := make([]string, len(members))
	byName := map[string]fleet.Member{}
	for i, m := range members {
		names[i] = m.Name
		byName[m.Name] = m
	}
	results := fleet.FanOut(ctx, names, 8, d.timeout(), func(ctx context.Context, name string) (Finding, error) {
		return d.checkMetalLB(ctx, byName[name]), nil
	})
	for _, r := range results {
		if r.Err != nil {
			emit(Finding{CheckWarn, "metallb " + r.Cluster, fmt.Sprintf("cannot check: %v", r.Err)})
			continue
		}
		emit(r.Value)
	}
	d.checkMetalLBUse(ctx, emit, members)
}

func (d *Doctor) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return 20 * time.Second
}

func (d *Doctor) checkMetalLB(ctx context.Context, m fleet.Member) Finding {
	item := "metallb " + m.Name
	if m.Context == "" {
		return Finding{CheckWarn, item, "no kubeconfig context reaches cluster " + m.Name + ": MetalLB not checked"}
	}
	c, err := d.Member(m.Context)
	if err != nil {
		return Finding{CheckWarn, item, fmt.Sprintf("context %s: %v", m.Context, err)}
	}
	_, err = c.Dynamic.Resource(crdGVR).Get(ctx, MetalLBPoolsCRD, metav1.GetOptions{})
	switch {
	case err == nil:
		pools, err := c.Dynamic.Resource(ipPoolGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return Finding{CheckFail, item, fmt.Sprintf("cannot list IPAddressPools: %v", err)}
		}
		var names []string
		for _, p := range pools.Items {
			if addrs, _, _ := unstructured.NestedSlice(p.Object, "spec", "addresses"); len(addrs) > 0 {
				names = append(names, p.GetNamespace()+"/"+p.GetName())
			}
		}
		if len(names) == 0 {
			return Finding{CheckFail, item, "MetalLB (CRD mode) has no IPAddressPool with addresses: LoadBalancer Services get no IP"}
		}
		sort.Strings(names)
		return Finding{CheckOK, item, "IPAddressPools " + strings.Join(names, ", ")}
	case !apierrors.IsNotFound(err):
		return Finding{CheckWarn, item, fmt.Sprintf("cannot read CRD %s: %v", MetalLBPoolsCRD, err)}
	}
	cm, err := c.Kube.CoreV1().ConfigMaps(MetalLBNamespace).Get(ctx, "config", metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return Finding{CheckFail, item, "no MetalLB address pool: neither IPAddressPools (" + MetalLBPoolsCRD + ") nor ConfigMap " + MetalLBNamespace + "/config"}
		}
		return Finding{CheckWarn, item, fmt.Sprintf("cannot read ConfigMap %s/config: %v", MetalLBNamespace, err)}
	}
	pools, err := LegacyMetalLBPools(cm.Data["config"])
	if err != nil {
		return Finding{CheckFail, item, fmt.Sprintf("ConfigMap %s/config: %v", MetalLBNamespace, err)}
	}
	if len(pools) == 0 {
		return Finding{CheckFail, item, "ConfigMap " + MetalLBNamespace + "/config has no address-pools with addresses"}
	}
	return Finding{CheckOK, item, "address-pools " + strings.Join(pools, ", ") + " (ConfigMap " + MetalLBNamespace + "/config)"}
}

// LegacyMetalLBPools returns the names of the address pools with addresses
// in MetalLB's pre-0.13 configuration (the ConfigMap's "config" key).
func LegacyMetalLBPools(config string) ([]string, error) {
	var cfg struct {
		AddressPools []struct {
			Name      string   `json:"name"`
			Addresses []string `json:"addresses"`
		} `json:"address-pools"`
	}
	if strings.TrimSpace(config) == "" {
		return nil, nil
	}
	if err := yaml.Unmarshal([]byte(config), &cfg); err != nil {
		return nil, fmt.Errorf("key config is not valid MetalLB configuration: %v", err)
	}
	var out []string
	for _, p := range cfg.AddressPools {
		if len(p.Addresses) > 0 {
			out = append(out, p.Name)
		}
	}
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
