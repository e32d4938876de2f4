package metallb

import (
	"context"
	"fmt"
	"math/big"
	"net/netip"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Holder is a LoadBalancer Service holding an address: one entry of its
// status.loadBalancer.ingress, which MetalLB's controller writes.
type Holder struct {
	Namespace, Name string
	Address         netip.Addr
}

// Service names the Service as namespace/name.
func (h Holder) Service() string { return h.Namespace + "/" + h.Name }

// Waiting is a LoadBalancer Service without an address yet.
type Waiting struct {
	Namespace, Name string
	Since           time.Time // its creation: when it started asking
	// Requested is spec.loadBalancerIP, or MetalLB's loadBalancerIPs
	// annotation, when the Service asks for given addresses.
	Requested string
}

// ServiceUse is what a cluster's LoadBalancer Services hold and wait for.
type ServiceUse struct {
	Holders []Holder
	Waiting []Waiting
	// Unparsed are ingress IPs that are not addresses, described with the
	// value quoted (a cluster's data is untrusted).
	Unparsed []string
}

// MetalLB's annotations for the addresses a Service asks for, stable
// (v0.14) first, then the metallb.universe.tf one v0.12 reads and v0.14
// still honours; beside them, spec.loadBalancerIP.
var loadBalancerIPsAnnotations = []string{"metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs"}

// ServiceUseOf sorts a cluster's Services into the addresses they hold and
// the LoadBalancer Services still waiting for one. Only type LoadBalancer
// counts: a Service turned ClusterIP keeps no address.
func ServiceUseOf(svcs []corev1.Service) ServiceUse {
	var u ServiceUse
	for _, s := range svcs {
		if s.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		held := false
		for _, in := range s.Status.LoadBalancer.Ingress {
			if in.IP == "" {
				continue // a hostname (cloud load balancers): not from a pool
			}
			a, err := netip.ParseAddr(in.IP)
			if err != nil {
				u.Unparsed = append(u.Unparsed, fmt.Sprintf("Service %s/%s has ingress IP %q", s.Namespace, s.Name, in.IP))
				continue
			}
			u.Holders = append(u.Holders, Holder{Namespace: s.Namespace, Name: s.Name, Address: a.Unmap()})
			held = true
		}
		// A Service of another loadBalancerClass waits for another
		// implementation, not for MetalLB (run without --lb-class).
		if !held && len(s.Status.LoadBalancer.Ingress) == 0 && s.Spec.LoadBalancerClass == nil {
			req := s.Spec.LoadBalancerIP
			for _, a := range loadBalancerIPsAnnotations {
				if v := s.Annotations[a]; v != "" && req == "" {
					req = v
				}
			}
			u.Waiting = append(u.Waiting, Waiting{Namespace: s.Namespace, Name: s.Name, Since: s.CreationTimestamp.Time, Requested: req})
		}
	}
	sort.Slice(u.Holders, func(i, j int) bool {
		if u.Holders[i].Address != u.Holders[j].Address {
			return u.Holders[i].Address.Less(u.Holders[j].Address)
		}
		return u.Holders[i].Service() < u.Holders[j].Service()
	})
	sort.Slice(u.Waiting, func(i, j int) bool {
		return u.Waiting[i].Namespace+"/"+u.Waiting[i].Name < u.Waiting[j].Namespace+"/"+u.Waiting[j].Name
	})
	return u
}

// ReadServiceUse lists the cluster's Services in every namespace.
func ReadServiceUse(ctx context.Context, kube kubernetes.Interface) (ServiceUse, error) {
	list, err := kube.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ServiceUse{}, fmt.Errorf("cannot list Services: %w", err)
	}
	return ServiceUseOf(list.Items), nil
}

// Contains reports whether a is in the range.
func (r Range) Contains(a netip.Addr) bool {
	a = a.Unmap()
	return a.Is4() == r.Is4() && !a.Less(r.From) && !r.To.Less(a)
}

// Size is the number of addresses in the range; with avoidBuggy, IPv4
// addresses ending in .0 or .255 are left out, as MetalLB's allocator does
// for a pool with avoid-buggy-ips (legacy) or spec.avoidBuggyIPs.
func (r Range) Size(avoidBuggy bool) *big.Int {
	from, to := new(big.Int).SetBytes(r.From.AsSlice()), new(big.Int).SetBytes(r.To.AsSlice())
	n := new(big.Int).Sub(to, from)
	n.Add(n, big.NewInt(1))
	if avoidBuggy && r.Is4() {
		n.Sub(n, big.NewInt(buggyUpTo(to.Int64())-buggyUpTo(from.Int64()-1)))
	}
	return n
}

// buggyUpTo counts the IPv4 addresses 0..x (as numbers) that end in .0 or .255.
func buggyUpTo(x int64) int64 {
	if x < 0 {
		return 0
	}
	n := (x/256)*2 + 1 // every full /24 below, plus this /24's .0
	if x%256 == 255 {
		n++
	}
	return n
}

// buggy reports whether MetalLB's avoid-buggy-ips skips a.
func buggy(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return b[3] == 0 || b[3] == 255
}

// AddressUse is one address of a pool in use, with the Services that hold
// it (several when MetalLB shares it: metallb.universe.tf/allow-shared-ip).
type AddressUse struct {
	Address  string   `json:"address"`
	Services []string `json:"services"`
}

// Usage is how much of a pool is handed out.
type Usage struct {
	Size  *big.Int // addresses MetalLB can hand out
	Used  int      // distinct addresses held by Services
	InUse []AddressUse
}

// Free is Size - Used, never below zero.
func (u Usage) Free() *big.Int {
	f := new(big.Int).Sub(u.Size, big.NewInt(int64(u.Used)))
	if f.Sign() < 0 {
		f.SetInt64(0)
	}
	return f
}

// Percent is the share used, 0-100, rounded down; 100 for a pool of size 0.
func (u Usage) Percent() int {
	if u.Size.Sign() == 0 {
		return 100
	}
	p := new(big.Int).Mul(big.NewInt(int64(u.Used)), big.NewInt(100))
	p.Quo(p, u.Size)
	if p.Cmp(big.NewInt(100)) > 0 {
		return 100
	}
	return int(p.Int64())
}

// Usage counts the pool's addresses and which of them Services hold.
func (p Pool) Usage(holders []Holder) Usage {
	u := Usage{Size: new(big.Int)}
	for _, r := range p.Ranges {
		u.Size.Add(u.Size, r.Size(p.AvoidBuggyIPs))
	}
	byAddr := map[netip.Addr][]string{}
	var order []netip.Addr
	for _, h := range holders {
		if !p.contains(h.Address) {
			continue
		}
		if _, seen := byAddr[h.Address]; !seen {
			order = append(order, h.Address)
		}
		byAddr[h.Address] = append(byAddr[h.Address], h.Service())
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Less(order[j]) })
	for _, a := range order {
		u.InUse = append(u.InUse, AddressUse{Address: a.String(), Services: byAddr[a]})
	}
	u.Used = len(order)
	return u
}

func (p Pool) contains(a netip.Addr) bool {
	for _, r := range p.Ranges {
		if r.Contains(a) && !(p.AvoidBuggyIPs && buggy(a)) {
			return true
		}
	}
	return false
}

func inRanges(rs []Range, a netip.Addr) bool {
	for _, r := range rs {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// Stranded returns the holders of addresses inside the old ranges and
// outside the new ones: MetalLB takes such an address back and hands the
// Service another, so its clients lose it.
func Stranded(old, new []Range, holders []Holder) []Holder {
	var out []Holder
	for _, h := range holders {
		if inRanges(old, h.Address) && !inRanges(new, h.Address) {
			out = append(out, h)
		}
	}
	return out
}

// StrandedError names the Services whose addresses a new range leaves out.
type StrandedError struct {
	Cluster, Pool string
	Mode          Mode
	Holders       []Holder
}

func (e *StrandedError) Error() string {
	parts := make([]string, 0, len(e.Holders))
	for i, h := range e.Holders {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Holders)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (Service %s)", h.Address, h.Service()))
	}
	// What each MetalLB does, read in its allocator's SetPools and seen in
	// the e2e tests: v0.14 unassigns and re-allocates, v0.12 refuses the
	// whole new configuration and runs on with the old one.
	what := "MetalLB (v0.13+) would give those Services other addresses"
	if e.Mode == ModeConfigMap {
		what = "MetalLB (< v0.13) would reject the whole new configuration and keep the old one while they hold them"
	}
	return fmt.Sprintf("the new range leaves out %d address(es) of pool %q of cluster %s that Services hold: %s; %s",
		len(e.Holders), e.Pool, e.Cluster, strings.Join(parts, ", "), what)
}

// Families is which address families a cluster gives its Services.
type Families struct {
	IPv4, IPv6 bool
	// From says how it was learnt, for messages: "service CIDRs 10.96.0.0/12".
	From string
}

func (f Families) allows(r Range) bool { return r.Is4() && f.IPv4 || !r.Is4() && f.IPv6 }

func (f Families) String() string {
	switch {
	case f.IPv4 && f.IPv6:
		return "IPv4 and IPv6"
	case f.IPv6:
		return "IPv6 only"
	default:
		return "IPv4 only"
	}
}

// ReadFamilies learns a cluster's Service address families from its
// ServiceCIDRs (networking.k8s.io/v1, Kubernetes 1.33+, which list every
// family of a dual-stack cluster), else from the ipFamilies of its Services
// (the "kubernetes" Service alone shows only the primary family, so every
// Service is looked at). known is false when neither can be read.
func ReadFamilies(ctx context.Context, kube kubernetes.Interface) (f Families, known bool, err error) {
	cidrs, err := kube.NetworkingV1().ServiceCIDRs().List(ctx, metav1.ListOptions{})
	if err == nil && len(cidrs.Items) > 0 {
		var seen []string
		for _, c := range cidrs.Items {
			for _, s := range c.Spec.CIDRs {
				p, perr := netip.ParsePrefix(s)
				if perr != nil {
					continue
				}
				seen = append(seen, p.String())
				if p.Addr().Is4() {
					f.IPv4 = true
				} else {
					f.IPv6 = true
				}
			}
		}
		if f.IPv4 || f.IPv6 {
			f.From = "service CIDRs " + strings.Join(seen, ",")
			return f, true, nil
		}
	}
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
		return f, false, fmt.Errorf("cannot list ServiceCIDRs: %w", err)
	}
	svcs, err := kube.CoreV1().Services(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return f, false, nil
		}
		return f, false, fmt.Errorf("cannot list Services: %w", err)
	}
	for _, s := range svcs.Items {
		for _, fam := range s.Spec.IPFamilies {
			switch fam {
			case corev1.IPv4Protocol:
				f.IPv4 = true
			case corev1.IPv6Protocol:
				f.IPv6 = true
			}
		}
	}
	f.From = "the ipFamilies of its Services"
	return f, f.IPv4 || f.IPv6, nil
}

// CheckFamilies refuses a range of a family the cluster's Services do not
// have: MetalLB would never hand it out (it picks by the Service's family).
func CheckFamilies(cluster string, ranges []Range, f Families) error {
	for _, r := range ranges {
		if !f.allows(r) {
			want := "IPv4"
			if f.IPv6 && !f.IPv4 {
				want = "IPv6"
			}
			return fmt.Errorf("address range %s is %s, but the Services of cluster %s are %s (%s): allowed are %s ranges",
				r, familyName(r), cluster, f, f.From, want)
		}
	}
	return nil
}

func familyName(r Range) string {
	if r.Is4() {
		return "IPv4"
	}
	return "IPv6"
}
