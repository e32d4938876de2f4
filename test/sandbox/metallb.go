package sandbox

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// MetalLB modes of Options.MetalLB: which MetalLB controller runs against a member.
const (
	// MetalLBLegacy runs MetalLB v0.12.1's controller, which reads the
	// ConfigMap metallb-system/config.
	MetalLBLegacy = "legacy"
	// MetalLBCRD runs MetalLB v0.14.9's controller, which reads
	// IPAddressPools; the member gets the MetalLB CRDs.
	MetalLBCRD = "crd"
)

// MetalLBNamespace is where the sandbox's MetalLB controllers read their configuration.
const MetalLBNamespace = "metallb-system"

// metallbBinaries are the controllers `make tools` builds, per mode.
var metallbBinaries = map[string]string{
	MetalLBLegacy: "metallb-controller-v0.12",
	MetalLBCRD:    "metallb-controller",
}

// validateMetalLB checks Options.MetalLB and adds the CRD members to
// MetalLBCRDs (v0.14.9's controller cannot start without its CRDs).
func (o *Options) validateMetalLB() error {
	for member, mode := range o.MetalLB {
		if _, ok := metallbBinaries[mode]; !ok {
			return fmt.Errorf("MetalLB[%q] = %q: want %q or %q", member, mode, MetalLBLegacy, MetalLBCRD)
		}
		if mode == MetalLBCRD && !slices.Contains(o.MetalLBCRDs, member) {
			o.MetalLBCRDs = append(o.MetalLBCRDs, member)
		}
	}
	return nil
}

// startMetalLB runs MetalLB's controller out of cluster against each member
// that asks for one. Only the controller: it is what assigns addresses
// (status.loadBalancer.ingress); the speaker, which announces them on the
// network, needs a node to run on and is not part of the sandbox.
//
// Flags, as read from each version's controller/main.go and tried here:
//
//	v0.12.1 (legacy, Go flag package: one dash or two):
//	  -kubeconfig FILE   out of cluster
//	  -namespace NS      where the ConfigMap "config" is read (no service
//	                     account file to read it from out of cluster)
//	  -port N            Prometheus metrics on :N (all interfaces); a free
//	                     port, as several sandboxes share the machine
//	v0.14.9 (CRD mode, controller-runtime):
//	  --kubeconfig FILE  registered by controller-runtime, not by main.go
//	  --namespace NS     where IPAddressPools are read (a cache field selector)
//	  --port N           metrics, as above
//	  --webhook-mode=disabled
//	                     no validating/conversion webhook server (it would
//	                     bind :9443 and need a Service and a certificate);
//	                     with it, --disable-cert-rotation has no effect, so
//	                     it is not passed
//	  no --ml-secret-name / --deployment: the memberlist Secret is only for
//	                     speakers, and creating it reads the controller's
//	                     Deployment, which does not exist here
func (f *Federation) startMetalLB(ctx context.Context) error {
	names := make([]string, 0, len(f.opts.MetalLB))
	for n := range f.opts.MetalLB {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		mode := f.opts.MetalLB[name]
		m := f.Member(name)
		if m == nil {
			return fmt.Errorf("MetalLB names %q, which is not a member", name)
		}
		kubeconfig := filepath.Join(m.dir, "metallb.kubeconfig")
		if err := writeKubeconfig(kubeconfig, map[string]*Cluster{name: m}, name, false); err != nil {
			return err
		}
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		port := strconv.Itoa(ports[0])
		args := []string{"--kubeconfig=" + kubeconfig, "--namespace=" + MetalLBNamespace, "--port=" + port}
		if mode == MetalLBCRD {
			args = append(args, "--webhook-mode=disabled")
			// controller-runtime maps kinds through discovery, which serves
			// a CRD a moment after it is Established; a kind it cannot map
			// ends the manager.
			if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				for _, gv := range []string{"metallb.io/v1beta1", "metallb.io/v1beta2"} {
					if _, err := m.Client.Discovery().ServerResourcesForGroupVersion(gv); err != nil {
						return false, nil
					}
				}
				return true, nil
			}); err != nil {
				return fmt.Errorf("%s: discovery never served the MetalLB CRDs: %w", name, err)
			}
		}
		p, err := startProcess(f.opts.BinDir, f.Dir, name+"-metallb-controller", metallbBinaries[mode], args, f.opts.Detached)
		if err != nil {
			return err
		}
		m.metallb, m.metallbMode = p, mode
		// Metrics are served once the controller has its clients.
		if err := p.waitFor(ctx, 30*time.Second, func(ctx context.Context) error {
			return httpOK(ctx, "http://127.0.0.1:"+port+"/metrics")
		}); err != nil {
			return fmt.Errorf("%s: MetalLB controller (%s): %w", name, mode, err)
		}
		f.opts.Logf("sandbox: MetalLB controller (%s) runs against %s", mode, name)
	}
	return nil
}

// MetalLBMode is the mode of the MetalLB controller running against the
// member, "" when none runs.
func (c *Cluster) MetalLBMode() string { return c.metallbMode }

// MetalLBLog is the path of the member's MetalLB controller log, "" when none runs.
func (c *Cluster) MetalLBLog() string {
	if c.metallb == nil {
		return ""
	}
	return c.metallb.LogPath
}
